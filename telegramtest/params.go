package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// params are a call's parameters as strings, whichever way they came: the
// Bot API accepts the query string, urlencoded and multipart forms, and JSON,
// where any value that is not a string is kept as its JSON text (so a
// reply_markup object reads the same as in a form).
type params map[string]string

// maxBody bounds what the fake reads: its methods take no files.
const maxBody = 1 << 20

func parseParams(r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	if r.Body == nil {
		return p, nil
	}
	// Read it whole first: a client with nothing to send may still say
	// multipart (go-telegram/bot does, for getMe), and Telegram accepts that.
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil || len(body) == 0 {
		return p, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		return p, addJSON(p, body)
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return p, err
		}
		for k, v := range r.MultipartForm.Value {
			p[k] = v[0]
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return p, err
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	}
	return p, nil
}

func addJSON(p params, body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("can't parse JSON: %w", err)
	}
	for k, raw := range fields {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			p[k] = s
			continue
		}
		p[k] = string(bytes.TrimSpace(raw))
	}
	return nil
}

// int64 reads an integer parameter; def when it is absent.
func (p params) int64(name string, def int64) (int64, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s must be an integer", name)
	}
	return n, nil
}

// bool reads a boolean parameter the way Telegram does: "true" or "1".
func (p params) bool(name string) bool {
	return p[name] == "true" || p[name] == "1"
}

// object decodes a JSON-valued parameter into v; false when it is absent.
func (p params) object(name string, v any) (bool, error) {
	raw, ok := p[name]
	if !ok || raw == "" {
		return false, nil
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return true, errors.New("can't parse " + name + " JSON object")
	}
	return true, nil
}
