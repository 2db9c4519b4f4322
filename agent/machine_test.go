package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"ota-agent/agent"
	"ota-agent/agent/state"
	"ota-agent/flasher/ab"
	"ota-agent/transport/akaso/akasotest"
)

// TestMachineRandomKills walks random sequences of offers (good and
// corrupt), installs killed at random instants, reboots and restarts
// through the real agent, U-Boot environment and file slots, and checks
// the state machine's invariants after every event:
//
//   - the booted slot is never written;
//   - a slot armed to boot next holds a verified image (never a corrupt one);
//   - after a boot and a restart no install is left armed.
func TestMachineRandomKills(t *testing.T) {
	runs := 12
	if testing.Short() {
		runs = 3
	}
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { walk(t, seed) })
	}
}

type walker struct {
	*abRig
	rnd     *rand.Rand
	images  map[string][]byte // version → a good image
	booted  string
	content []byte // the booted slot's bytes at its boot
	n       int
	log     []string
}

func walk(t *testing.T, seed uint64) {
	r := newABRig(t, "rauc", [][]string{{"true"}})
	w := &walker{abRig: r, rnd: rand.New(rand.NewPCG(seed, 7)), images: map[string][]byte{"2.0.0": r.image}}
	w.booted, w.content = "A", r.slot("A")
	for step := 0; step < 14; step++ {
		ev := w.rnd.IntN(5)
		w.event(ev)
		w.check()
	}
}

func (w *walker) event(ev int) {
	t := w.t
	switch ev {
	case 0, 1: // the vendor publishes a release: good, or with a wrong md5
		w.n++
		v := fmt.Sprintf("%d.0.0", w.n+2)
		img := make([]byte, 200<<10+w.rnd.IntN(100<<10))
		for i := range img {
			img[i] = byte(w.rnd.Uint32())
		}
		md5 := md5hex(img)
		if ev == 1 {
			md5 = strings.Repeat("AB", 16)
		} else {
			w.images[v] = img
		}
		w.srv.SetEntries([]akasotest.Entry{{UID: v, Model: "M", VersionName: v, Src: w.srv.AddFile(v+".img", img), MD5Check: md5, FileSize: "300KB"}})
		w.log = append(w.log, "publish "+v+map[bool]string{true: " (corrupt)"}[ev == 1])
	case 2: // update, killed after a random instant
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(w.rnd.IntN(30))*time.Millisecond)
		w.ag.Update(ctx, agent.UpdateOptions{})
		cancel()
		w.open() // the process is gone; a new one starts
		w.log = append(w.log, "update killed")
	case 3: // update to the end
		w.ag.Update(t.Context(), agent.UpdateOptions{})
		w.log = append(w.log, "update")
	case 4: // reboot: the bootloader picks a slot; the daemon starts
		slot, err := w.rig.Boot(t.Context())
		if err != nil {
			t.Fatalf("boot: %v (%v)", err, w.log)
		}
		w.booted, w.content = slot, w.slot(slot)
		w.open()
		w.ag.Resume(t.Context())
		w.ag.MarkGood(t.Context())
		w.log = append(w.log, "boot "+slot)
		if c := w.comp(); c.Phase == state.Rebooting || c.Phase == state.Committing {
			t.Fatalf("after a boot and a restart the install is still %s (%v)", c.Phase, w.log)
		}
	}
}

func (w *walker) check() {
	t := w.t
	if !bytes.Equal(w.slot(w.booted), w.content) {
		t.Fatalf("booted slot %s written (%v)", w.booted, w.log)
	}
	v := w.vars()
	next := ""
	for _, s := range strings.Fields(v[ab.VarBootOrder]) {
		if v[ab.LeftVar(s)] != "0" {
			next = s
			break
		}
	}
	if next == "" || next == w.booted {
		return
	}
	got := w.slot(next)
	for _, img := range w.images {
		if bytes.Equal(got[:len(img)], img) {
			return
		}
	}
	t.Fatalf("slot %s is armed but holds no verified image (%v)", next, w.log)
}
