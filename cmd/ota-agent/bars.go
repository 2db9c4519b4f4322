package main

import (
	"sync"

	"github.com/schollz/progressbar/v3"
)

// bars shows one progress bar per component, only on a terminal.
type bars struct {
	e  *env
	mu sync.Mutex
	m  map[string]*progressbar.ProgressBar
}

func newBars(e *env) *bars { return &bars{e: e, m: map[string]*progressbar.ProgressBar{}} }

// progress is an agent.Options.Progress; nil when stdout is not a terminal.
func (b *bars) progressFunc() func(string, int64, int64) {
	if !b.e.isTerminal() {
		return nil
	}
	return func(name string, done, total int64) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if total <= 0 {
			total = -1 // unknown size: a spinner
		}
		bar := b.m[name]
		if bar == nil || bar.GetMax64() != total {
			bar = progressbar.DefaultBytes(total, name)
			b.m[name] = bar
		}
		_ = bar.Set64(done)
	}
}

func (b *bars) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bar := range b.m {
		_ = bar.Finish()
	}
}
