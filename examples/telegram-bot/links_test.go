package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/deeplink"
)

// Deep links end to end: the shop signs, the bot verifies, and only what
// verifies reaches Yespo.

func TestSignedLinkSubscribesTheCustomer(t *testing.T) {
	h := startBot(t)
	ids := []string{"crm-42", "ann@example.com", "CRM/2024/0077", "Олена-7", strings.Repeat("a", deeplink.MaxIDLen)}
	for i, id := range ids {
		u := h.tg.NewUser(int64(1001+i), "Ann")
		got := h.say(u, "/start "+signed(t, id))
		assert.Equal(t, []string{textSubscribed}, texts(got), id)
		c, ok := h.contactOf(u)
		require.True(t, ok, "no contact holds the token of %q", id)
		assert.Equal(t, id, c.ExternalCustomerID)
		assert.Empty(t, c.Phone)
	}
	expiring := h.tg.NewUser(2001, "Eli")
	assert.Equal(t, []string{textSubscribed}, texts(h.say(expiring, "/start "+signed(t, "crm-43", deeplink.ValidFor(time.Hour)))))
	assert.Contains(t, h.log(), "msg=subscribed chat=1001 by=externalCustomerId")
}

// A customer id typed by hand, a payload with any one character changed, or
// one signed with another secret subscribes nobody, and the log never holds
// the payload.
func TestUnsignedOrChangedLinkSubscribesNobody(t *testing.T) {
	h := startBot(t)
	eve := h.tg.NewUser(1003, "Eve")
	genuine := signed(t, "crm-42")
	other, err := deeplink.Sign([]byte(strings.Repeat("x", 32)), "crm-42")
	require.NoError(t, err)
	refused := []string{"crm-42", other, genuine + "A", genuine[1:], "not base64 !", strings.Repeat("a", 65)}
	for i := range genuine {
		refused = append(refused, changeCharacter(genuine, i))
	}
	for _, payload := range refused {
		assert.Equal(t, []string{textBadLink}, texts(h.say(eve, "/start "+payload)), payload)
	}
	assert.Empty(t, yespoCalls(h.ys), "nothing was sent to Yespo")
	log := h.log()
	assert.Equal(t, len(refused), strings.Count(log, `level=WARN msg="deep link refused" chat=1003 err="deeplink: invalid payload`), log)
	for _, payload := range refused[1:4] {
		assert.NotContains(t, log, payload)
	}
}

// A genuine link past its expiry gets its own answer: ask for a new one.
func TestExpiredLinkAsksForANewOne(t *testing.T) {
	h := startBot(t)
	signedAt := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old := signed(t, "crm-42", deeplink.ValidFor(time.Hour), deeplink.Now(signedAt))
	assert.Equal(t, []string{textOldLink}, texts(h.say(h.tg.NewUser(1001, "Ann"), "/start "+old)))
	assert.Empty(t, yespoCalls(h.ys))
	assert.Contains(t, h.log(), `msg="deep link refused" chat=1001 err="deeplink: payload expired`)
}

// Without TELEGRAM_LINK_SECRET every link is refused, and the phone number
// still subscribes.
func TestWithoutASecretLinksAreRefused(t *testing.T) {
	tg, ys, cfg := fakes(t)
	cfg.linkSecret = ""
	h := startBotOn(t, tg, ys, cfg, nil)
	ann := h.tg.NewUser(1001, "Ann")
	assert.Equal(t, []string{textBadLink}, texts(h.say(ann, "/start "+signed(t, "crm-42"))))
	assert.Contains(t, h.log(), `msg="deep link refused" chat=1001 err="deep links are off: TELEGRAM_LINK_SECRET is not set"`)
	got := h.step(ann, func() { ann.ShareContact("15550100001") })
	assert.Equal(t, []string{textSubscribed}, texts(got))
}
