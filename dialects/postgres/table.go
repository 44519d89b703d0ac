package postgres

// bytesLen and runesLen count a name the way an engine limits it.
func bytesLen(s string) int { return len(s) }
