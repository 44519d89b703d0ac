package mysql

import (
	"unicode/utf8"
)

func runesLen(s string) int { return utf8.RuneCountInString(s) }
