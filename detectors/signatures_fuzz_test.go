package detectors

import (
	"testing"
	"time"
)

// FuzzSignatureParsers feeds arbitrary bytes to every parser of the
// signatures detector: AVState dates, kesl-control's text and JSON, and
// kescli's answer. None may panic, and a date any of them accepts must be
// a plausible one in UTC. Seeds: the kesl-control fixtures and the files
// in testdata/fuzz/FuzzSignatureParsers.
func FuzzSignatureParsers(f *testing.F) {
	for _, name := range []string{"en.txt", "kesl10-en.txt", "ru.txt", "app-info.json", "ru-app-info.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if when, ok, err := parseAVStateDate(string(data)); ok {
			checkSigDate(t, "AVState", when, err)
		}
		for name, parse := range map[string]func([]byte) (sigReading, bool, error){
			"kesl text": parseKeslText, "kesl JSON": parseKeslJSON, "kescli": parseKescli,
		} {
			r, ok, err := parse(data)
			if !ok {
				continue
			}
			checkSigDate(t, name, r.when, err)
			if r.confidence != confHigh && r.confidence != confMedium && r.confidence != confLow {
				t.Errorf("%s: confidence %q", name, r.confidence)
			}
		}
	})
}

func checkSigDate(t *testing.T, parser string, when time.Time, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: a date (%v) and an error (%v)", parser, when, err)
	}
	if when.Location() != time.UTC || when.Before(minSigDate) || !when.Before(maxSigDate) {
		t.Errorf("%s: accepted %v", parser, when)
	}
}
