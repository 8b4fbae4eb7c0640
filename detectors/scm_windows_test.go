package detectors

import (
	"context"
	"errors"
	"testing"
)

// TestServiceManagerLive runs on any Windows, Wine included.
func TestServiceManagerLive(t *testing.T) {
	states, err := NewServiceManager().States(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var drivers, win32, running int
	for name, st := range states {
		switch {
		case st.Type&0x0B != 0: // kernel, file system or recognizer driver
			drivers++
		case st.Type&0x30 != 0:
			win32++
		}
		if st.Running {
			running++
			t.Logf("running: %s %+v", name, st)
		}
	}
	t.Logf("%d services: %d drivers, %d win32, %d running", len(states), drivers, win32, running)
	if drivers == 0 || win32 == 0 {
		t.Errorf("want both drivers and win32 services, got %d and %d", drivers, win32)
	}
}

func TestServiceManagerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewServiceManager().States(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
