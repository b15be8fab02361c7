package yespo_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// WithAccountRate takes any positive, finite rate and refuses the rest.
func TestWithAccountRate(t *testing.T) {
	for _, r := range []float64{0.5, 200, 1e6} {
		_, err := yespo.NewClient(testKey, yespo.WithAccountRate(r))
		require.NoError(t, err, r)
	}
	for _, r := range []float64{0, -1, math.Inf(1), math.NaN()} {
		_, err := yespo.NewClient(testKey, yespo.WithAccountRate(r))
		assert.ErrorIs(t, err, yespo.ErrInvalidInput, r)
	}
}
