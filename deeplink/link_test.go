package deeplink_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo/deeplink"
)

func TestLink(t *testing.T) {
	p := vectors[0].payload
	for bot, want := range map[string]string{
		"@YespoDemoBot":                       "https://t.me/YespoDemoBot?start=" + p,
		"YespoDemoBot":                        "https://t.me/YespoDemoBot?start=" + p,
		"shop_bot":                            "https://t.me/shop_bot?start=" + p,
		"a_bOt":                               "https://t.me/a_bOt?start=" + p, // 5 characters
		strings.Repeat("x", 29) + "BOT":       "https://t.me/" + strings.Repeat("x", 29) + "BOT?start=" + p,
		"9shop_bot":                           "https://t.me/9shop_bot?start=" + p,
		"@" + strings.Repeat("b", 29) + "bot": "https://t.me/" + strings.Repeat("b", 29) + "bot?start=" + p,
	} {
		got, err := deeplink.Link(bot, p)
		require.NoError(t, err, bot)
		require.Equal(t, want, got)
	}
}

func TestLinkRefusesBadUsernames(t *testing.T) {
	for _, bot := range []string{
		"", "@", "bot", "@@shopbot", "abot", // too short, or "@" kept
		strings.Repeat("x", 30) + "bot", // 33 characters
		"shop-bot", "shop bot", "shop.bot", "shopbot/", "шопbot", "shopbot\n", "shop%bot",
		"YespoShop", "shopbo", "shop_bots", // not a bot's name
		"https://t.me/shopbot", "t.me/shopbot",
	} {
		_, err := deeplink.Link(bot, vectors[0].payload)
		require.ErrorIs(t, err, deeplink.ErrInvalidUsername, "%q", bot)
	}
}

func TestLinkChecksPayloadCharacters(t *testing.T) {
	for _, p := range []string{"", strings.Repeat("a", 65), "a b", "a+b", "a/b", "a=", "a&x=1", "a#b", "Олена", "a\nb"} {
		_, err := deeplink.Link("shopbot", p)
		require.ErrorIs(t, err, deeplink.ErrInvalid, "%q", p)
	}
	// Only characters and length: a payload of another kind gets a link too.
	for _, p := range []string{"crm-42", "_", "-", strings.Repeat("a", 64)} {
		got, err := deeplink.Link("shopbot", p)
		require.NoError(t, err)
		require.Equal(t, "https://t.me/shopbot?start="+p, got)
	}
}
