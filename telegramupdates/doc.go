// Package telegramupdates receives a Telegram bot's updates so that none is
// lost to a crash, for any Telegram library: it hands each update, raw, to a
// Handler, and confirms it to Telegram only once the Handler returned nil —
// once the update's effect is durable.
//
// Telegram keeps an update until it is confirmed: by a getUpdates whose
// offset is past it (long polling), or by a 2xx answer to its webhook
// request. Most libraries confirm an update as soon as it is off the wire,
// before any handler ran, so a crash between the two loses it. Here:
//
//   - Poller long-polls getUpdates and moves the offset past an update only
//     when it and every update before it are done. One chat's updates run
//     in order, one at a time; different chats run side by side, at most
//     MaxInFlight at once. A Handler that keeps failing on an update is
//     retried, with a growing delay, for RetryFor; then the update is
//     reported to OnGiveUp and skipped, so that one bad update cannot stall
//     the bot. At a stop, the updates in hand are still handled, without
//     retries; those that fail stay unconfirmed: Telegram sends them again
//     to the next run.
//   - Webhook is the http.Handler for setWebhook: it checks the secret
//     token in constant time before reading anything (401, without reading
//     the body, otherwise), caps the body, and answers 200 only once the
//     Handler returned nil, 500 otherwise, so that Telegram sends the update
//     again.
//
// Delivery is at least once: an update whose Handler succeeded but whose
// confirmation did not reach Telegram (a crash in between) comes again, so a
// Handler should tolerate seeing an update twice.
//
// The package reads only update_id and the chat (see Parse); the rest of
// the update is the library's to decode. The recipes in the repository's
// examples/recipes feed it into go-telegram/bot, telego,
// go-telegram-bot-api and telebot.
package telegramupdates
