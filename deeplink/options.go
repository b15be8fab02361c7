package deeplink

import (
	"fmt"
	"math"
	"time"
)

// An Option changes what Sign or Verify does. Each function that takes
// options ignores those that do not concern it (Verify ignores ExpiresAt and
// ValidFor), and of ExpiresAt and ValidFor the last one given wins.
type Option func(*config)

type config struct {
	expiry    expiryKind
	expiresAt time.Time     // for expiryAt
	validFor  time.Duration // for expiryFor
	now       func() time.Time
}

type expiryKind int

const (
	expiryNone expiryKind = iota
	expiryAt
	expiryFor
)

// ExpiresAt makes Sign write an expiry into the payload, after which Verify
// refuses it with ErrExpired. The expiry travels inside the signed bytes in
// whole Unix seconds, t rounded down: the payload is valid while Verify's
// clock is before that second. Sign fails with ErrInvalidExpiry if t,
// rounded down, is not after now (the link would never work) or is after
// 2106-02-07T06:28:15Z. An expiry takes 4 bytes of the id's room (see
// MaxIDLenWithExpiry).
func ExpiresAt(t time.Time) Option {
	return func(c *config) { c.expiry, c.expiresAt = expiryAt, t }
}

// ValidFor is ExpiresAt(now + d), now being Sign's clock (see Now). Sign
// fails with ErrInvalidExpiry if d is under one second.
func ValidFor(d time.Duration) Option {
	return func(c *config) { c.expiry, c.validFor = expiryFor, d }
}

// Now replaces the clock, time.Now by default, that Sign reads for ValidFor
// and for refusing a past expiry, and that Verify reads to decide whether a
// payload has expired. Tests use it to move time without sleeping. A nil
// function keeps time.Now.
func Now(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

func newConfig(opts []Option) config {
	c := config{now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// expiryUnix returns the Unix second the payload expires at, checked to be
// in the future and to fit the 4 bytes of the format.
func (c config) expiryUnix() (uint32, error) {
	now := c.now()
	at := c.expiresAt
	if c.expiry == expiryFor {
		if c.validFor < time.Second {
			return 0, fmt.Errorf("%w: ValidFor must be at least 1s", ErrInvalidExpiry)
		}
		at = now.Add(c.validFor)
	}
	exp := at.Unix()
	switch {
	case exp <= now.Unix():
		return 0, fmt.Errorf("%w: %s is not in the future", ErrInvalidExpiry, at.UTC().Format(time.RFC3339))
	case exp > math.MaxUint32:
		return 0, fmt.Errorf("%w: %s is after 2106-02-07T06:28:15Z, the last second the format can hold",
			ErrInvalidExpiry, at.UTC().Format(time.RFC3339))
	}
	return uint32(exp), nil
}
