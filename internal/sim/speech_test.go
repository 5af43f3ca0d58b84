package sim

import (
	"slices"
	"testing"

	"github.com/openrec/openrec/internal/media/audiotest"
)

// A synthetic voice looks like one side of a conversation (sound in
// bursts, a moving spectrum, pauses), the two sides of a call take turns,
// and each DN has its own voice.
func TestVoiceIsSpeechLikeAndTakesTurns(t *testing.T) {
	const secs = 30
	agent, customer := make([]int16, secs*8000), make([]int16, secs*8000)
	VoiceFor("5001", "call-1", true).Read(agent)
	VoiceFor("+15551230001", "call-1", false).Read(customer)
	for name, pcm := range map[string][]int16{"agent": agent, "customer": customer} {
		if why := audiotest.SpeechLike(pcm); why != "" {
			t.Errorf("%s: not speech-like: %s", name, why)
		}
	}
	// Turn-taking: in most 100 ms frames at most one side speaks.
	both, either := 0, 0
	for f := 0; f+800 <= len(agent); f += 800 {
		a := audiotest.RMS(agent[f:f+800]) >= 4*audiotest.SilenceRMS
		c := audiotest.RMS(customer[f:f+800]) >= 4*audiotest.SilenceRMS
		if a || c {
			either++
		}
		if a && c {
			both++
		}
	}
	if either == 0 || float64(both)/float64(either) > 0.2 {
		t.Errorf("the parties talk over each other in %d of %d frames with sound", both, either)
	}
	// Deterministic per (who, conversation); distinct per DN.
	again := make([]int16, len(agent))
	VoiceFor("5001", "call-1", true).Read(again)
	if !slices.Equal(agent, again) {
		t.Error("the same voice and conversation gave different audio")
	}
	other := make([]int16, len(agent))
	VoiceFor("5002", "call-1", true).Read(other)
	if slices.Equal(agent, other) {
		t.Error("two DNs have the same voice")
	}
}

func TestSpeechLikeRejectsToneAndSilence(t *testing.T) {
	for name, pcm := range map[string][]int16{
		"tone":    audiotest.Tone(440, 0.3, 8000, 5*8000),
		"silence": make([]int16, 5*8000),
	} {
		if why := audiotest.SpeechLike(pcm); why == "" {
			t.Errorf("%s counted as speech", name)
		}
	}
}
