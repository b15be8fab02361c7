package main

import (
	"context"
	"testing"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
)

// The client the example bot uses understands the fake: getMe at start,
// multipart sendMessage with a keyboard, 403 as bot.ErrorForbidden, and a
// long-polled /start routed by its bot_command entity.
func TestWithGoTelegramBot(t *testing.T) {
	s := telegramtest.NewServer()
	defer s.Close()
	ctx, cancel := context.WithCancel(bounded(t))
	defer cancel()

	started := make(chan *models.Message, 1)
	b, err := bot.New(s.Token, bot.WithServerURL(s.URL), bot.WithSkipGetMe())
	require.NoError(t, err)
	b.RegisterHandler(bot.HandlerTypeMessageText, "start", bot.MatchTypeCommandStartOnly,
		func(_ context.Context, _ *bot.Bot, u *models.Update) { started <- u.Message })
	me, err := b.GetMe(ctx)
	require.NoError(t, err)
	assert.Equal(t, "YespoDemoBot", me.Username)

	stopped := make(chan struct{})
	go func() { b.Start(ctx); close(stopped) }()
	ann := s.NewUser(7, "Ann")
	ann.Send("/start crm-42")
	select {
	case m := <-started:
		assert.Equal(t, "/start crm-42", m.Text)
		assert.Equal(t, models.ChatTypePrivate, m.Chat.Type)
	case <-ctx.Done():
		t.Fatal("the /start handler did not run")
	}

	_, err = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: ann.ID, Text: "Share?", ReplyMarkup: models.ReplyKeyboardMarkup{
		Keyboard: [][]models.KeyboardButton{{{Text: "Share my phone", RequestContact: true}}},
	}})
	require.NoError(t, err)
	assert.Equal(t, [][]telegramtest.Button{{{Text: "Share my phone", RequestContact: true}}}, ann.Messages()[0].Keyboard)

	ann.Block()
	_, err = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: ann.ID, Text: "hello?"})
	assert.ErrorIs(t, err, bot.ErrorForbidden)

	cancel()
	<-stopped
}
