/*
Package yespo is a client for the Yespo apps/tokens API: it passes the
tokens of your app's subscribers — for a Telegram bot, their chat ids — to
Yespo together with a contact identifier, so that Yespo's newsletters reach
them.

# Quick start

Connect the bot in Yespo ("My bots"), note its app_uuid, create an API key,
then, in the bot's /start handler:

	client, err := yespo.NewClient(os.Getenv("YESPO_API_KEY"))
	if err != nil {
		return err
	}
	err = client.AddAppTokens(ctx, appUUID, []yespo.Token{{
		Token:              yespo.TelegramToken(update.Message.Chat.ID),
		ExternalCustomerID: customerID, // or Phone, Email, ContactID
	}})

Create one Client and share it: it is safe for concurrent use, and keeps
connections open between calls. The other calls are MuteAppToken,
UnmuteAppToken, ContactIDByToken and SendEvent (see Events).

# Authentication

Yespo uses HTTP Basic authentication with the API key as the password; the
client sends it on every request, with the user name "yespo-go", which Yespo
ignores. Requests with a body carry "Content-Type: application/json;
charset=UTF-8"; every request carries "Accept: application/json" and the
User-Agent "yespo-go/<Version>" (see WithUserAgent). The default root is
DefaultBaseURL ("https://yespo.io/api/"); the other documented root,
"https://api.yespo.io/api/", or a test server, is set with WithBaseURL.

# Identifiers and priority

Every token needs at least one contact identifier: ContactID,
ExternalCustomerID, Phone or Email. Yespo looks the contact up by them in that
order of priority. If a contact is found, the token is added to it and
nothing else changes: AddAppTokens never creates or updates the identifiers
of an existing contact. If none is found, a new contact is created with the
identifiers given. Yespo's guide describes the lookup in two ways — the first
identifier that finds a contact wins, or only the highest-priority identifier
is looked up — so send the identifier you trust most as the primary one (see
Token.PrimaryIdentifier).

Tokens are never replaced, only added: a second token for the same contact
sits beside the first, and sending the same token twice is harmless, which is
also why every call may safely be retried.

The client validates, it does not rewrite. A phone must be an optional "+" and
7 to 15 digits, the first not 0: "+380501234567" and "380501234567" both pass,
and are sent as given; "+38 050 123 45 67" and "0501234567" do not. An email
must be a bare address, an externalCustomerId at most 1024 bytes (Yespo
documents no limit; the client sets one to catch a record passed as an id).
NormalizePhone and NormalizeEmail turn what users type (or what Telegram
shares, e.g. a phone number without "+") into the canonical form when you
choose to call them; NormalizePhone always adds the "+".

# Errors

Bad input is caught before any network call and returned as
*ValidationError values, which name the field and the reason and match
ErrInvalidInput (and ErrInvalidEvent for an Event); AddAppTokens reports the bad tokens at once, each problem
with its token's index — the first 100 problems, then a count of the rest.
A non-2xx answer is an *APIError with the status, the server's text, its
headers and the Retry-After it sent; it matches ErrBadRequest (400),
ErrUnauthorized (401), ErrForbidden (403), ErrNotFound (404), ErrRateLimited
(429) or ErrServer (5xx). Three 404s are told apart: Yespo's "Not registered
application" (a wrong app UUID) matches ErrAppNotFound as well; an unknown
token matches ErrNotFound only; and a 404 that comes from a web server
rather than the API — an HTML page, a router's "404 page not found" —
says in its text to check that the base URL ends in "/api/":

	var apiErr *yespo.APIError
	switch {
	case errors.Is(err, yespo.ErrRateLimited) && errors.As(err, &apiErr):
		reply("Busy, try again in " + apiErr.RetryAfter.String())
	case errors.Is(err, yespo.ErrInvalidInput):
		reply("That does not look right: " + err.Error())
	}

Network failures are returned wrapped (errors.As finds the *url.Error and
the net.Error), and a cancelled or expired context matches context.Canceled
or context.DeadlineExceeded.

# Retries and rate limits

Connection errors and the statuses 408, 429, 500, 502, 503 and 504 are
retried, by default 3 times with exponential, jittered waits from 250 ms to
5 s (WithRetry); other 4xx answers are final. A Retry-After header is honoured
when it asks for no more than the longest wait; when it asks for more, the
call stops at once and the *APIError carries RetryAfter, so that the caller
(a bot talking to a user) decides. The context is honoured during every wait.
The default 30 s timeout applies to each attempt; a deadline on the context
bounds the whole call. An answer that arrives just as the context ends still
counts: a 2xx is success, since Yespo has the tokens.

A redirect is followed only to the same host, and only when it keeps the
method: a 301, 302 or 303 would turn the POST into a bodiless GET, so its 3xx
answer is returned as an *APIError instead.

Yespo allows 200 requests per second per account for the apps methods,
150 per second for ContactIDByToken and 350 for SendEvent (see Budget). The Client paces every attempt,
retries included, on the budget it draws from: it starts at half the
documented rate, doubles while nothing is refused, settles near the rate
Yespo accepted and learns from every 429 — another integration of the
account may take part of the budget. A Client needs no limiter. To cap it
lower, pass one; the pace then starts at the budget, leaves the limiter to
decide, and still backs off under it on every 429:

	client, err := yespo.NewClient(key, yespo.WithRateLimiter(rate.NewLimiter(100, 1)))

An account whose budget is not Yespo's 200 a second says so with
WithAccountRate: the pace starts there instead of ramping up.

A budget so stated, by a rate or a limiter, is also held to 97 % of itself
in any span of one second plus the spread of the attempts' round trips:
on a loaded machine, requests granted evenly arrive bunched, and without
this some second of Yespo's would hold more than the budget. A limiter
shared by processes is asked for that span too (WindowLimiter).

Two Clients pace separately, even with the same key: use one Client per
process. Several processes on one account share each budget through Redis
with the separate module github.com/yespo-go/yespo/yesporedis: one limiter
per budget, WithRateLimiter for the account's and WithBudgetLimiter for
another's.

Many tokens are better sent in one AddAppTokens call than in many.

# Batching bursts and imports

A Batcher gathers tokens from any number of goroutines — every /start
handler of a bot, or the reader of a subscriber file — and sends them in
batches of up to 500. A batch is cut when it is full or when its oldest
token has waited FlushInterval (100 ms by default): a burst of thousands of
/start becomes a handful of requests instead of 429s, and a million
subscribers upload at the account's full rate with bounded memory. Add
blocks while 100,000 tokens are pending, de-duplicates tokens that are
still pending, and every token ends up sent or reported failed:

	b, err := client.NewBatcher(appUUID, yespo.BatcherOptions{
		OnBatch: func(r yespo.BatchResult) {
			if r.Err != nil {
				log.Printf("%d tokens not added: %v", len(r.Tokens), r.Err)
			}
		},
	})
	// in a handler that answers the user once Yespo has the token:
	err = b.AddAndWait(ctx, yespo.Token{Token: yespo.TelegramToken(chatID), Phone: phone})
	// or, fire and forget (bulk imports, handlers that answer at once):
	err = b.Add(ctx, yespo.Token{Token: yespo.TelegramToken(chatID), Phone: phone})
	// on shutdown:
	err = b.Close(ctx) // sends what is left; says how many failed

AddAndWait returns the outcome of the user's own token — nil once Yespo
has it — after at most FlushInterval plus the request; use it where the
bot's answer depends on the registration. Add returns at once; failures
reach OnBatch, Flush and Close. OnBatch runs on a goroutine of the
Batcher's own, one call at a time, once the batch's tokens are settled; it
may call Flush and Close, which then wait only for the tokens.

Full batches go out as fast as the Client's pace allows, up to Concurrency
(128) requests in flight. All Batchers of a Client share its pace and take
turns with each other and with its direct calls.

Failure is bounded: a batch fails once the client's retry policy is spent.
A Retry-After longer than the client waits by itself pauses the account's
budget, at most once per batch and at most MaxPause (1 minute); a longer
one fails the batch at once with the *APIError, whose RetryAfter says how
long the server asked for. When Yespo is down — nothing but errors for three
attempts over a second — batches are held instead of burning their retries:
the Client probes with one request at a time, every 250 ms to 2 s, and
sends the backlog once Yespo answers again; a held batch fails after
MaxOutage (10 minutes), never with a Journal. A batch of several tokens
refused with a 400 is split until the token Yespo refuses fails alone.
Every Close honours its own context and returns when it ends, whatever
OnBatch does; a batch it gave up on before it left fails with an error
matching ErrNotSent.

# Events

SendEvent generates an event (Generate event, v2), which starts the
workflows built on its type in Yespo — a welcome through the Telegram
channel, a promo code, a series:

	err := client.SendEvent(ctx, yespo.Event{
		TypeKey:  "telegram_subscribed",
		KeyValue: customerID,
		Params: []yespo.EventParam{
			{Name: "telegramChatId", Value: yespo.TelegramToken(chatID)},
			{Name: "firstName", Value: firstName},
		},
	})

An event is validated first (Event.Validate; errors match ErrInvalidEvent):
a type key of at most 100 characters and a key value of at most 300, both
without < ; ’ \ / | " ` ' ^ ? ! , >; without a key value, a param naming
the contact (contactId, externalCustomerId, email, phone or pushToken); a
body of at most 20 KB. A param's value is any JSON. Events draw from their
own budget of 350 requests per second, paced apart from the account's 200:
a burst of events does not slow the tokens. Send an event about a new
subscriber only once Yespo accepted the token: a workflow finds the
Telegram channel only then. A 401 or 403 says the key lacks the right to
generate events.

Batcher.AddWithEvent does that ordering for you: it queues a token with
its event, which is sent only once Yespo accepted the token, on the event
budget. With a Journal the event is kept with its token, all its params,
until both are settled, so a crash sends the token again, then the event
(at least once). OnEvent hears each settled event; BatcherStats counts
them (EventsSent, EventsFailed, EventsHeld); Flush and Close wait for them.

	err := batcher.AddWithEvent(ctx, yespo.Token{Token: yespo.TelegramToken(chatID), ExternalCustomerID: customerID},
		yespo.Event{TypeKey: "telegram_subscribed", KeyValue: customerID, Params: params})

# Testing your bot

The yespotest package is a fake Yespo that runs in the test process: its
Client method returns a *Client for it, and it shows which contact each token
landed on, with faults to inject. For a server of your own, point the client
at an httptest.Server with WithBaseURL(srv.URL + "/api/"); it then sees paths
like "/api/v1/apps/{appUUID}/tokens" and the API key as the Basic-auth
password. To test without sockets, pass an http.RoundTripper that answers in
memory (httpmock's, for one) with WithTransport; see the example
"TestingWithoutSockets". Any 2xx answer is success. Use a real-looking app
UUID: a malformed one is rejected before any request is made. Add WithRetry(0,
0, 0) so that tests of 5xx and 429 answers do not wait between attempts.

# Logging

The client logs nothing unless given a *slog.Logger with WithLogger. It then
writes one Debug record per attempt (method, path, status, attempt, wait,
and for a transport failure its scrubbed text) and one Warn record when it
gives up. A Batcher adds, with the error where there is one: Warn "yespo:
batcher: Yespo did not accept a batch; holding its tokens … and trying
again" once when a hold begins, Info "… Yespo accepts again; sending the
tokens held …" when it ends, and Warn "… journal reclaim failed …",
"… journal remove failed …" and "… closed with tokens held in the
journal …".

# Security

The API key is sent only in the Authorization header. It never appears in an
error's text, in any field of an *APIError, in the fmt output (%v, %+v, %#v)
of an error, in a log record, or in the fmt or slog output of a Client
(which print it as [REDACTED]). A server, proxy or redirect that echoes the
key or the Authorization value back — raw, JSON-escaped ("\u0073…", "\/"),
percent-encoded in any case, in the body, a header or a redirect URL — has
each occurrence replaced by [REDACTED] in the final, decoded text; a text
that would still show the key once decoded again is replaced whole. A
transport error prints only its scrubbed text, while errors.Is and errors.As
still reach its cause. Response headers that carry credentials or cookies
(Authorization, Proxy-Authorization, Cookie, Set-Cookie) are not kept.
The default HTTP client follows redirects only to the same host and never
from https to http, so the key is not sent anywhere else. With
WithHTTPClient, your client's own redirect policy applies (Go's default
drops the Authorization header for other hosts).
*/
package yespo
