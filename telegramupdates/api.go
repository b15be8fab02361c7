package telegramupdates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// botAPI makes the getUpdates calls of one token.
type botAPI struct {
	url         string // the token's root: .../bot<token>/
	token       string // kept out of errors, also where Telegram echoes it
	client      *http.Client
	pollSeconds int
}

func newBotAPI(apiURL, token string, client *http.Client, poll time.Duration) *botAPI {
	if apiURL == "" {
		apiURL = "https://api.telegram.org"
	}
	if client == nil {
		client = &http.Client{Timeout: poll + 15*time.Second}
	}
	return &botAPI{url: strings.TrimSuffix(apiURL, "/") + "/bot" + token + "/", token: token, client: client,
		pollSeconds: max(int(poll/time.Second), 1)}
}

// retryAfterError is Telegram's 429 on getUpdates.
type retryAfterError struct {
	wait time.Duration
	err  error
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// maxAnswer bounds a getUpdates answer: 100 updates of at most a few
// hundred KB each is far less.
const maxAnswer = 64 << 20

// getUpdates asks for up to limit updates from offset, waiting up to
// timeout seconds for one, and returns each update's JSON. Its errors name
// the method, never the URL, which holds the token.
func (a *botAPI) getUpdates(ctx context.Context, offset int64, timeout, limit int, allowed []string) ([][]byte, error) {
	params := map[string]any{"offset": offset, "timeout": timeout, "limit": limit}
	if allowed != nil {
		params["allowed_updates"] = allowed
	}
	body, _ := json.Marshal(params) // cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+"getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("telegram getUpdates: bad API URL") // the URL holds the token: not in the error
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds the token
		}
		return nil, fmt.Errorf("telegram getUpdates: %w", err)
	}
	defer resp.Body.Close()
	var env struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&env); err != nil {
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("telegram getUpdates: %s: %w", resp.Status, ErrUnauthorized)
		}
		return nil, fmt.Errorf("telegram getUpdates: %s, undecodable answer: %w", resp.Status, err)
	}
	if !env.OK {
		err := fmt.Errorf("telegram getUpdates: %d %s", env.ErrorCode, strings.ReplaceAll(env.Description, a.token, "[token]"))
		switch {
		case env.ErrorCode == http.StatusUnauthorized || env.ErrorCode == http.StatusNotFound:
			return nil, fmt.Errorf("%w: %w", err, ErrUnauthorized)
		case env.Parameters.RetryAfter > 0:
			return nil, &retryAfterError{time.Duration(env.Parameters.RetryAfter) * time.Second, err}
		}
		return nil, err
	}
	raws := make([][]byte, len(env.Result))
	for i, r := range env.Result {
		raws[i] = r
	}
	return raws, nil
}
