package keyring

import (
	"errors"
	"strings"
	"time"
)

// parseDate reads a date the way ASP.NET Core reads <creationDate>,
// <activationDate>, <expirationDate> and <revocationDate>: the explicit
// XElement-to-DateTimeOffset conversion, which is XmlConvert.
// ToDateTimeOffset(element.Value). The key manager writes xs:dateTime with
// seven fraction digits and an offset (XmlConvert.ToString(DateTimeOffset),
// "2015-03-19T23:32:02.3949887Z" or "2015-03-01T19:13:19.7573854-08:00").
// Accepted here: xs:dateTime and xs:date, each with "Z", "±hh:mm" or no
// zone, XML white space around. hasOffset is false for a date with no
// zone, which .NET reads in the local time zone of the server reading it
// (XsdDateTime's conversion to DateTimeOffset uses TimeZoneInfo.Local for
// an unspecified kind); sessctl reads it as UTC and says so.
func parseDate(s string) (t time.Time, hasOffset bool, err error) {
	sc := &dateScanner{s: strings.Trim(s, xmlSpace)}
	bad := errors.New("not an xs:dateTime")
	year, ok1 := sc.num(4)
	okDash1 := sc.lit('-')
	month, ok2 := sc.num(2)
	okDash2 := sc.lit('-')
	day, ok3 := sc.num(2)
	if !ok1 || !ok2 || !ok3 || !okDash1 || !okDash2 {
		return time.Time{}, false, bad
	}
	var hour, minute, sec, nsec int
	if sc.lit('T') {
		var ok bool
		if hour, minute, sec, nsec, ok = sc.clock(); !ok {
			return time.Time{}, false, bad
		}
	}
	loc, hasOffset, ok := sc.zone()
	if !ok || sc.p != len(sc.s) {
		return time.Time{}, false, bad
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false, errors.New("not a valid date")
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day {
		return time.Time{}, false, errors.New("not a valid date")
	}
	// DateTimeOffset holds UTC instants in years 1 to 9999 only.
	if u := t.UTC(); u.Year() < 1 || u.Year() > 9999 {
		return time.Time{}, false, errors.New("outside the years 1 to 9999 .NET can hold")
	}
	return t, hasOffset, nil
}

// dateScanner reads an xs:dateTime from position p on.
type dateScanner struct {
	s string
	p int
}

// num reads n decimal digits.
func (sc *dateScanner) num(n int) (int, bool) {
	if sc.p+n > len(sc.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(sc.s[sc.p : sc.p+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	sc.p += n
	return v, true
}

// lit reads c, if it is next.
func (sc *dateScanner) lit(c byte) bool {
	if sc.p < len(sc.s) && sc.s[sc.p] == c {
		sc.p++
		return true
	}
	return false
}

// clock reads hh:mm:ss and a fraction, if any, to the nanosecond (digits
// past the ninth are read and dropped).
func (sc *dateScanner) clock() (hour, minute, sec, nsec int, ok bool) {
	hour, okH := sc.num(2)
	c1 := sc.lit(':')
	minute, okM := sc.num(2)
	c2 := sc.lit(':')
	sec, okS := sc.num(2)
	if !okH || !okM || !okS || !c1 || !c2 {
		return 0, 0, 0, 0, false
	}
	if !sc.lit('.') {
		return hour, minute, sec, 0, true
	}
	digits := 0
	for sc.p < len(sc.s) && sc.s[sc.p] >= '0' && sc.s[sc.p] <= '9' {
		if digits < 9 {
			nsec = nsec*10 + int(sc.s[sc.p]-'0')
		}
		digits++
		sc.p++
	}
	if digits == 0 {
		return 0, 0, 0, 0, false
	}
	for i := digits; i < 9; i++ {
		nsec *= 10
	}
	return hour, minute, sec, nsec, true
}

// zone reads "Z", "±hh:mm" or nothing (then UTC, without an offset).
func (sc *dateScanner) zone() (loc *time.Location, hasOffset, ok bool) {
	switch {
	case sc.p == len(sc.s):
		return time.UTC, false, true
	case sc.lit('Z'):
		return time.UTC, true, true
	case sc.s[sc.p] == '+' || sc.s[sc.p] == '-':
		sign := 1
		if sc.s[sc.p] == '-' {
			sign = -1
		}
		sc.p++
		zh, okH := sc.num(2)
		colon := sc.lit(':')
		zm, okM := sc.num(2)
		if !okH || !okM || !colon || zh > 14 || zm > 59 || (zh == 14 && zm != 0) {
			return nil, false, false
		}
		return time.FixedZone("", sign*(zh*3600+zm*60)), true, true
	}
	return nil, false, false
}

// parseGUID reads a key id the way new Guid(string) does (XmlConvert.
// ToGuid, and the XAttribute-to-Guid conversion): white space around, hex
// digits in either case, in the forms "D" (8-4-4-4-12), "N" (32 digits),
// "B" ({D}) and "P" ((D)). The "X" form ({0x…,{0x…}}) is not read. The
// result is the canonical lower-case "D" form, whose string order is the
// order of System.Guid.CompareTo (fields compared as unsigned numbers, most
// significant first), which DefaultKeyResolver uses to break ties.
func parseGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')'):
		s = s[1:37]
		fallthrough
	case len(s) == 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case len(s) == 32:
	default:
		return "", false
	}
	var b [36]byte
	j := 0
	for i := 0; i < 32; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return "", false
		}
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		b[j] = c
		j++
	}
	return string(b[:]), true
}
