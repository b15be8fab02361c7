// Package readmecheck keeps the Go code of the repository's README honest:
// its test checks that every block the README marks with
// <!-- readmecheck: NAME --> is copied verbatim into the packages below,
// where it compiles and where the README's bot tests run — on
// go-telegram/bot (gotelegram) and on go-telegram-bot-api/v5 (tgbotapi),
// against the in-process fakes yespotest and telegramtest, with no network.
// The package itself has no code.
package readmecheck
