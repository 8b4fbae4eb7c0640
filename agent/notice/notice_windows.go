//go:build windows

package notice

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	kernel32                         = windows.NewLazySystemDLL("kernel32.dll")
	procWTSGetActiveConsoleSessionID = kernel32.NewProc("WTSGetActiveConsoleSessionId")
	wtsapi32                         = windows.NewLazySystemDLL("wtsapi32.dll")
	procWTSSendMessageW              = wtsapi32.NewProc("WTSSendMessageW")
)

// noSession is what WTSGetActiveConsoleSessionId returns when no session
// is attached to the console.
const noSession = 0xFFFFFFFF

// Windows shows notices as a message box in the active console session,
// sent from the service in session 0 with WTSSendMessageW. It does not
// wait for the box to be closed; the box closes itself after Timeout.
type Windows struct {
	Timeout time.Duration
}

// Default is the platform's shower.
func Default() Shower { return &Windows{Timeout: 60 * time.Second} }

// Show sends m to the console session; no session (nobody at the
// console) reaches nobody and is not an error.
func (w *Windows) Show(ctx context.Context, m Message) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := procWTSSendMessageW.Find(); err != nil {
		return 0, err
	}
	r, _, _ := procWTSGetActiveConsoleSessionID.Call()
	session := uint32(r)
	if session == noSession {
		return 0, nil
	}
	title, body := WindowsText(m)
	t, tlen := UTF16(title)
	b, blen := UTF16(body)
	var response uint32
	ok, _, err := procWTSSendMessageW.Call(
		0, // WTS_CURRENT_SERVER_HANDLE
		uintptr(session),
		uintptr(unsafe.Pointer(&t[0])), uintptr(tlen),
		uintptr(unsafe.Pointer(&b[0])), uintptr(blen),
		uintptr(wtsStyle),
		uintptr(w.Timeout/time.Second),
		uintptr(unsafe.Pointer(&response)),
		0, // bWait FALSE: return at once (response is IDASYNC)
	)
	if ok == 0 {
		if errors.Is(err, windows.ERROR_SUCCESS) {
			err = errors.New("failed")
		}
		return 0, fmt.Errorf("WTSSendMessageW to session %d: %w", session, err)
	}
	return 1, nil
}
