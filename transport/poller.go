package transport

import "time"

// Poller is implemented by APIs whose server says when to poll next
// (hawkBit's config.polling.sleep). NextPoll returns the interval of the
// last answer, ok = false while the server has named none; the daemon then
// waits that long (plus jitter) instead of server.poll_interval.
type Poller interface {
	NextPoll() (d time.Duration, ok bool)
}
