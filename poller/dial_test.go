package poller

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// countingReader hands out a stream as a socket full of data would: as much as asked for.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestBufferedFrontend: the frontend pgx reads rows through takes the server's output in reads
// of readBuffer bytes, not of its own 8 KiB, and decodes every message as the plain one does.
func TestBufferedFrontend(t *testing.T) {
	var stream []byte
	const rows = 20000
	for i := range rows {
		var err error
		stream, err = (&pgproto3.DataRow{Values: [][]byte{[]byte(fmt.Sprint(i)), bytes.Repeat([]byte("x"), i%97)}}).Encode(stream)
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func(build func(io.Reader, io.Writer) *pgproto3.Frontend) int {
		src := &countingReader{r: bytes.NewReader(stream)}
		f := build(src, io.Discard)
		for i := range rows {
			msg, err := f.Receive()
			if err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			row, ok := msg.(*pgproto3.DataRow)
			if !ok || string(row.Values[0]) != fmt.Sprint(i) || len(row.Values[1]) != i%97 {
				t.Fatalf("row %d decoded as %#v", i, msg)
			}
		}
		return src.reads
	}
	plain, buffered := read(pgproto3.NewFrontend), read(bufferedFrontend)
	if most := len(stream)/readBuffer + 1; buffered > most {
		t.Errorf("%d bytes took %d reads, want at most %d (reads of %d bytes)", len(stream), buffered, most, readBuffer)
	}
	if buffered*4 > plain {
		t.Errorf("buffered: %d reads, pgx's own frontend: %d; want a quarter of them at most", buffered, plain)
	}
	t.Logf("%d bytes: %d reads buffered, %d with pgx's own frontend", len(stream), buffered, plain)
}
