/*
Package yespotest is an in-process fake of the Yespo apps API, for testing
code that uses github.com/yespo-go/yespo without a Yespo account or network
— the way net/http/httptest stands in for a web server.

	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	client := srv.Client() // a *yespo.Client for srv, with short retry waits

	err := client.AddAppTokens(ctx, app, []yespo.Token{{Token: "42", Phone: "+380501234567"}})
	c, ok := srv.ContactByToken(app, "42") // what Yespo would now hold

# What it models

The five endpoints of the yespo client (add tokens, mute, unmute, contact id
by token, Generate event v2) under the URL's /api/ path, with HTTP Basic authentication (the
password must be Server.APIKey, else 401) and the documented answers:
400 "Wrong app uuid" for a malformed app UUID, 404 "Not registered
application" for an app not registered with NewApp or RegisterApp, 400
"Token(s) must be specified", 400 "Duration must be positive int", 400 for
a token without a contact identifier or a body that is not JSON. Errors come
as plain text, success of the POST endpoints as the JSON string "OK".

Adding tokens follows Yespo's documented semantics. Contacts are looked up
by contactId, then externalCustomerId, then phone, then email, phone and
email on their normalised forms (yespo.NormalizePhone, NormalizeEmail). The
guide words the lookup in two ways and both are available through
WithMatching: MatchAnyIdentifier (the docs: the first identifier that finds
a contact wins; the default) and MatchPrimaryOnly (the site: only the
highest-priority identifier is looked up). A contactId that matches no
contact passes the turn to the next identifier in both. When no contact is
found, a new one is created with all the identifiers given and an ID of the
server's choosing. A found contact only gains the token: its identifiers are
never created or changed. Tokens accumulate: the same token twice on a
contact is kept once, another token is added beside it. A request with one
bad token is refused whole.

Mute sets ContactToken.MutedUntil to now plus the duration, or to
9999-12-31 without one; unmute clears it. ReportStatus plays what Yespo
learns from sending a message: StatusFailed with reason "Forbidden" (the
user blocked the bot) removes the token from the contact card, so the bot
must register it again.

Generate event (POST v2/event) checks the documented rules and answers 400
with a text naming the one broken: eventTypeKey required, at most 100
characters, keyValue at most 300, neither with any of
< ; ’ \ / | " ` ' ^ ? ! , >; without keyValue, a param contactId,
externalCustomerId, email, phone or pushToken with a number or a non-blank
string (an externalCustomerId of "null" does not count); a body of at most
20 KB (20,000 bytes). Characters are counted as UTF-16 units, the strictest
reading. Events lists what it accepted, each param's value as the JSON
sent, with the time it arrived; TokenAddedAt says when a token was first
stored, so that a test can check that no event came before its token.

For resilience tests, FailNext and FailRandomly inject faults — a status
with an optional Retry-After, a delay, a dropped connection. For tests of
throughput as a user meets it, WithLatency makes every answer take as long
as a far-away server's, and WithRateLimit answers 429 with a Retry-After
beyond a number of requests in any one-second window (Yespo's is 200).
FailNextEvents faults Generate event alone. Each of Yespo's budgets has a
window of its own, as Yespo counts them: WithRateLimit sets the account's
(add tokens, mute, unmute), WithBudgetRateLimit the contact id lookup's
(Yespo's: 150) or Generate event's (350), so a burst of events never takes
the account's requests.
A body over MaxBody gets 413. Requests lists everything the server
received, with its arrival time and the status it answered.

A server keeps every request and contact it is sent, for the test to
inspect. For a run of millions of requests where only the answers matter (a
bulk import into a fake, a soak test), WithoutHistory keeps its memory flat:
it answers as usual and forgets.

# What it does not model

Contact fields beyond the four identifiers, other Yespo endpoints, sending
messages, the workflows an event starts, the account's optional
event-parameter validation (a FailNextEvents fault of 400 plays it), and any server behaviour the documentation leaves open (Yespo
documents no body limit; MaxBody is the fake's own). Where it
had to choose, it chose the answer that catches client bugs: muting or
unmuting a token no contact holds is 404 "Token not found"; the same token
sent for two contacts (possible under MatchPrimaryOnly) stays on both, and
ContactByToken returns the one with the lowest ID.

The server is safe for concurrent requests: fifty simultaneous requests for
the same new phone create exactly one contact.
*/
package yespotest
