package reader

import (
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Reader turns UTF-16 text into UTF-8 as it streams. Windows PowerShell
// 5.1 writes UTF-16LE with a byte order mark for "Export-Csv -Encoding
// Unicode" and for "> file" redirection, so such exports do occur. Unpaired
// surrogates and a dangling odd byte become U+FFFD.
type utf16Reader struct {
	src io.Reader
	big bool
	in  []byte // undecoded input bytes in[:k]
	k   int
	out []byte // decoded, not yet returned
	buf []byte // backing store for out
	err error
}

func newUTF16Reader(src io.Reader, bigEndian bool) *utf16Reader {
	return &utf16Reader{src: src, big: bigEndian, in: make([]byte, 64<<10), buf: make([]byte, 0, 96<<10)}
}

func (u *utf16Reader) unit(i int) uint16 {
	if u.big {
		return uint16(u.in[i])<<8 | uint16(u.in[i+1])
	}
	return uint16(u.in[i+1])<<8 | uint16(u.in[i])
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		n, err := u.src.Read(u.in[u.k:])
		u.k += n
		if err != nil {
			u.err = err
		}
		out := u.buf[:0]
		i := 0
		for i+1 < u.k {
			r := rune(u.unit(i))
			if utf16.IsSurrogate(r) {
				if i+3 >= u.k && u.err == nil {
					break // the pair's second half has not arrived yet
				}
				if i+3 < u.k {
					if d := utf16.DecodeRune(r, rune(u.unit(i+2))); d != utf8.RuneError {
						out = utf8.AppendRune(out, d)
						i += 4
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			i += 2
		}
		u.k = copy(u.in, u.in[i:u.k])
		if u.err != nil && u.k > 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
			u.k = 0
		}
		u.buf = out
		u.out = out
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}
