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
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
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
type Rate struct{ r *big.Rat }

// ParseRate reads a positive decimal rate such as "1.0825".
func ParseRate(s string) (Rate, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || r.Sign() <= 0 {
		return Rate{}, fmt.Errorf("not a positive decimal rate: %q", s)
	}
	return Rate{r}, nil
}

// One is the identity rate, for the reporting currency itself.
func One() Rate { return Rate{big.NewRat(1, 1)} }

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
