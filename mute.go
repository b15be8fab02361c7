package yespo

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/yespo-go/yespo/internal/validate"
	"github.com/yespo-go/yespo/internal/wire"
)

// The bounds of a mute's duration that Yespo documents: 5 seconds to
// 31,536,000 seconds (365 days). MuteAppToken refuses anything outside them,
// except 0, which mutes until UnmuteAppToken.
const (
	MinMute = validate.MinMute
	MaxMute = validate.MaxMute
)

// MuteAppToken stops newsletters to token for d: POST
// v1/apps/{appUUID}/token/mute with {"token":…,"duration":seconds}, the
// duration left out when d is 0. Transactional messages still reach it. d
// must be whole seconds from 5 s to 365 days, or 0 to mute until
// UnmuteAppToken. It draws from the account's budget of 200 requests per
// second, at the Client's pace (see Client). Bad input is a
// *ValidationError (field "appUUID", "token" or "duration") before any
// call; a non-2xx answer is an *APIError.
func (c *Client) MuteAppToken(ctx context.Context, appUUID, token string, d time.Duration) error {
	if err := ValidateAppUUID(appUUID); err != nil {
		return err
	}
	if r := validate.Token(token); r != "" {
		return invalid("token", r)
	}
	secs, r := validate.MuteSeconds(d)
	if r != "" {
		return invalid("duration", r)
	}
	raw, err := wire.MuteBody(token, secs)
	if err != nil {
		return fmt.Errorf("yespo: encoding mute: %w", err)
	}
	return c.doDiscard(ctx, endpoint{method: http.MethodPost, path: "v1/apps/" + wire.Segment(appUUID) + "/token/mute"}, raw, nil)
}

// UnmuteAppToken lets newsletters reach token again: POST
// v1/apps/{appUUID}/token/unmute with {"token":…}. It draws from the
// account's budget of 200 requests per second, at the Client's pace (see
// Client). Bad input is a *ValidationError before any call; a non-2xx
// answer is an *APIError.
func (c *Client) UnmuteAppToken(ctx context.Context, appUUID, token string) error {
	if err := ValidateAppUUID(appUUID); err != nil {
		return err
	}
	if r := validate.Token(token); r != "" {
		return invalid("token", r)
	}
	raw, err := wire.MuteBody(token, 0)
	if err != nil {
		return fmt.Errorf("yespo: encoding unmute: %w", err)
	}
	return c.doDiscard(ctx, endpoint{method: http.MethodPost, path: "v1/apps/" + wire.Segment(appUUID) + "/token/unmute"}, raw, nil)
}
