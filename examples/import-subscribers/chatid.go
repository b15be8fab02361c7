package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// chatIDLimit bounds a chat id's magnitude: Telegram's ids fit in 52 bits,
// so that a file that went through a float64 (a spreadsheet, JavaScript)
// still holds them exactly.
const chatIDLimit = 1 << 52

// chatIDHint ends every reason a token is not a chat id.
const chatIDHint = "(the wrong column? map the right one with -columns; tokens of another app type: run with -any-token)"

// chatID returns the Telegram chat id a token stands for, as Yespo gets
// it, or why the token is not one. As text (CSV, a JSON string) a chat id
// is an optional "-" then digits: no "+", no leading zero, no space, a
// magnitude under 2^52. A JSON number must be integral and written without
// an exponent: 1001 and 1001.0 are chat id 1001; 1e3 and 1001.5 are
// refused. An empty token is left to Validate.
func chatID(token string, number bool) (string, string) {
	if token == "" {
		return "", ""
	}
	why := ""
	id := token
	if number {
		id, why = integralNumber(token)
	}
	if why == "" {
		why = chatIDProblem(id)
	}
	if why != "" {
		return token, fmt.Sprintf("token %s is not a Telegram chat id: it %s %s", quoteToken(token, number), why, chatIDHint)
	}
	return id, ""
}

// integralNumber returns a JSON number's integer part, or why it is not
// an integer written in full.
func integralNumber(n string) (string, string) {
	if strings.ContainsAny(n, "eE") {
		return n, "is written with an exponent; write the chat id in full"
	}
	if i := strings.IndexByte(n, '.'); i >= 0 {
		if strings.Trim(n[i+1:], "0") != "" {
			return n, "is not a whole number"
		}
		n = n[:i]
	}
	return n, ""
}

// chatIDProblem says why s is not a chat id in decimal, or "".
func chatIDProblem(s string) string {
	digits := strings.TrimPrefix(s, "-")
	switch {
	case strings.ContainsFunc(s, unicode.IsSpace):
		return "has white space"
	case strings.HasPrefix(s, "+"):
		return `starts with "+"; a chat id has a sign only when negative, "-"`
	case digits == "" || strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }):
		return "is not a whole number"
	case digits == "0" && s != digits:
		return "is a negative zero"
	case len(digits) > 1 && digits[0] == '0':
		return "has a leading zero"
	}
	if n, err := strconv.ParseUint(digits, 10, 64); err != nil || n >= chatIDLimit {
		return fmt.Sprintf("is out of range: a chat id's magnitude is under 2^52 (%d)", uint64(chatIDLimit))
	}
	return ""
}

// quoteToken is a token as a reason shows it: a string quoted, a number
// as written; long ones cut.
func quoteToken(token string, number bool) string {
	if r := []rune(token); len(r) > 40 {
		token = string(r[:40]) + "…"
	}
	if number {
		return token
	}
	return strconv.Quote(token)
}
