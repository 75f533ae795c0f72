// Package money keeps amounts exact: an amount is an integer number of hundredths of the currency
// unit, and conversion to the reporting currency uses decimal rates with integer arithmetic, so
// Tandem's sums equal the CRM's NUMERIC sums to the cent.
//
// Conversion rule (documented in docs/metrics.md and reproduced by the tests' SQL): each amount is
// converted on its own, amount × rate rounded half away from zero to the cent, then summed.
package money

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Cents is an amount in hundredths of a currency unit.
type Cents int64

// Float returns the amount in currency units, as published to Prometheus.
func (c Cents) Float() float64 { return float64(c) / 100 }

func (c Cents) String() string {
	sign := ""
	v := int64(c)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// ParseCents reads a decimal amount ("1234.5", "-3", "12.345" rounds to 12.35). Databases return
// NUMERIC as text; SQLite may return a float, which FromFloat handles.
func ParseCents(s string) (Cents, error) {
	s = strings.TrimSpace(s)
	if c, ok := parseCentsFast(s); ok {
		return c, nil
	}
	return parseCentsExact(s)
}

// parseCentsFast reads the common form, [+-]digits[.digits] of at most 16 significant digits
// to the cent, in integer arithmetic: big.Rat cost about 1 µs an amount, a cold start's
// 200,000 opportunities at a million leads. It rounds as roundRat does (a third decimal of 5 or
// more rounds away from zero); anything else is left to parseCentsExact (ok false).
func parseCentsFast(s string) (c Cents, ok bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	var v int64
	frac := -1 // decimals read after the point; -1 before it
	up := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.' && frac < 0 && i > 0 && i < len(s)-1:
			frac = 0
		case ch >= '0' && ch <= '9':
			if frac >= 2 { // past the cent: only the first such digit rounds
				up, frac = up || frac == 2 && ch >= '5', frac+1
				continue
			}
			if v >= 1e15 {
				return 0, false
			}
			v = v*10 + int64(ch-'0')
			if frac >= 0 {
				frac++
			}
		default:
			return 0, false
		}
	}
	if len(s) == 0 {
		return 0, false
	}
	for k := max(frac, 0); k < 2; k++ {
		v *= 10
	}
	if up {
		v++
	}
	if neg {
		v = -v
	}
	return Cents(v), true
}

// parseCentsExact reads any decimal big.Rat reads, rounding half away from zero to the cent.
func parseCentsExact(s string) (Cents, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("not a decimal amount: %q", s)
	}
	return roundRat(r.Mul(r, big.NewRat(100, 1)))
}

// FromFloat converts a float amount by way of its shortest decimal form, so 0.1 stays 0.10.
func FromFloat(f float64) (Cents, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a finite amount: %v", f)
	}
	return ParseCents(strconv.FormatFloat(f, 'f', -1, 64))
}

// Rate is an exact decimal exchange rate: 1 unit of a currency = Rate units of the reporting one.
// num/den is the same rate when both are small (small), for Convert's integer path.
type Rate struct {
	r        *big.Rat
	num, den int64
	small    bool
}

// rateOf keeps r, with its small form when its numerator and denominator fit in 10^12.
func rateOf(r *big.Rat) Rate {
	out := Rate{r: r}
	if n, d := r.Num(), r.Denom(); n.IsInt64() && d.IsInt64() && n.Int64() <= 1e12 && d.Int64() <= 1e12 {
		out.num, out.den, out.small = n.Int64(), d.Int64(), true
	}
	return out
}

// ParseRate reads a positive decimal rate such as "1.0825".
func ParseRate(s string) (Rate, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || r.Sign() <= 0 {
		return Rate{}, fmt.Errorf("not a positive decimal rate: %q", s)
	}
	return rateOf(r), nil
}

// One is the identity rate, for the reporting currency itself.
func One() Rate { return rateOf(big.NewRat(1, 1)) }

// String prints the rate as a decimal with up to 12 places.
func (r Rate) String() string {
	if r.r == nil {
		return "1"
	}
	return strings.TrimRight(strings.TrimRight(r.r.FloatString(12), "0"), ".")
}

// Convert multiplies and rounds half away from zero to the cent.
func (r Rate) Convert(c Cents) Cents {
	if r.r == nil {
		return c
	}
	// In integers when amount × numerator fits (every amount below 9.2 million units at a
	// rate of 4 decimals): the same rounding as roundRat, without big.Rat's allocations.
	if v := int64(c); r.small && v > -(math.MaxInt64/r.num) && v < math.MaxInt64/r.num {
		p := v * r.num
		q, m := p/r.den, p%r.den
		if m < 0 {
			m = -m
		}
		if 2*m >= r.den {
			if p < 0 {
				q--
			} else {
				q++
			}
		}
		return Cents(q)
	}
	return r.convertExact(c)
}

// convertExact is Convert in big.Rat, for any amount and rate.
func (r Rate) convertExact(c Cents) Cents {
	x := new(big.Rat).Mul(new(big.Rat).SetInt64(int64(c)), r.r)
	out, _ := roundRat(x)
	return out
}

func roundRat(x *big.Rat) (Cents, error) {
	num := new(big.Int).Set(x.Num())
	den := x.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("amount out of range")
	}
	v := q.Int64()
	if neg {
		v = -v
	}
	return Cents(v), nil
}
