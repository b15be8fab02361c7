package telegramupdates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Update is one update as Telegram sent it.
type Update struct {
	ID int64 // update_id
	// ChatID is the chat the update happened in (for updates about a user
	// rather than a chat, such as inline queries, the user's id): updates
	// with the same ChatID are handled one at a time, in order. It is 0 for
	// kinds that name neither; those share one line.
	ChatID int64
	Raw    json.RawMessage // the whole update, as sent
}

// Handler handles one update and returns nil once its effect is durable —
// written where a crash cannot take it — which is when the update may be
// confirmed to Telegram. An error leaves it unconfirmed.
type Handler func(ctx context.Context, u Update) error

// ErrNoUpdateID is returned by Parse for JSON without a positive update_id.
var ErrNoUpdateID = errors.New("telegramupdates: not an update: no update_id")

// Parse reads update_id and the chat of one update's JSON; raw is kept, not
// copied. It fails on JSON that is not an object with a positive update_id
// (ErrNoUpdateID), with the decoder's error but never the update's text.
func Parse(raw []byte) (Update, error) {
	var u struct {
		ID int64 `json:"update_id"`
		// Every field that holds a chat or a user, by the Bot API's names.
		Message                 *hasChat `json:"message"`
		EditedMessage           *hasChat `json:"edited_message"`
		ChannelPost             *hasChat `json:"channel_post"`
		EditedChannelPost       *hasChat `json:"edited_channel_post"`
		BusinessMessage         *hasChat `json:"business_message"`
		EditedBusinessMessage   *hasChat `json:"edited_business_message"`
		DeletedBusinessMessages *hasChat `json:"deleted_business_messages"`
		MessageReaction         *hasChat `json:"message_reaction"`
		MessageReactionCount    *hasChat `json:"message_reaction_count"`
		MyChatMember            *hasChat `json:"my_chat_member"`
		ChatMember              *hasChat `json:"chat_member"`
		ChatJoinRequest         *hasChat `json:"chat_join_request"`
		ChatBoost               *hasChat `json:"chat_boost"`
		RemovedChatBoost        *hasChat `json:"removed_chat_boost"`
		CallbackQuery           *struct {
			Message *hasChat `json:"message"`
			From    *idOnly  `json:"from"`
		} `json:"callback_query"`
		InlineQuery        *hasChat `json:"inline_query"`
		ChosenInlineResult *hasChat `json:"chosen_inline_result"`
		ShippingQuery      *hasChat `json:"shipping_query"`
		PreCheckoutQuery   *hasChat `json:"pre_checkout_query"`
		PurchasedPaidMedia *hasChat `json:"purchased_paid_media"`
		PollAnswer         *hasChat `json:"poll_answer"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return Update{}, fmt.Errorf("telegramupdates: not an update: %w", err)
	}
	if u.ID <= 0 {
		return Update{}, ErrNoUpdateID
	}
	out := Update{ID: u.ID, Raw: raw}
	var cq *hasChat
	if q := u.CallbackQuery; q != nil {
		cq = q.Message
		if cq == nil || cq.id() == 0 {
			cq = &hasChat{From: q.From}
		}
	}
	for _, c := range []*hasChat{u.Message, u.EditedMessage, u.ChannelPost, u.EditedChannelPost,
		u.BusinessMessage, u.EditedBusinessMessage, u.DeletedBusinessMessages, u.MessageReaction,
		u.MessageReactionCount, u.MyChatMember, u.ChatMember, u.ChatJoinRequest, u.ChatBoost,
		u.RemovedChatBoost, cq, u.InlineQuery, u.ChosenInlineResult, u.ShippingQuery,
		u.PreCheckoutQuery, u.PurchasedPaidMedia, u.PollAnswer} {
		if c != nil {
			out.ChatID = c.id()
			break
		}
	}
	return out, nil
}

// hasChat is what decides an update's line: its chat, else its user.
type hasChat struct {
	Chat *idOnly `json:"chat"`
	From *idOnly `json:"from"`
	User *idOnly `json:"user"`
}

type idOnly struct {
	ID int64 `json:"id"`
}

func (h *hasChat) id() int64 {
	for _, x := range []*idOnly{h.Chat, h.From, h.User} {
		if x != nil {
			return x.ID
		}
	}
	return 0
}
