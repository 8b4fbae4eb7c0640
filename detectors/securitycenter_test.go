package detectors

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestDecodeProductState(t *testing.T) {
	for _, tc := range []struct {
		state uint32
		want  ProductState
	}{
		{266240, ProductState{"on", "up-to-date", true}},    // 0x041000
		{266256, ProductState{"on", "out-of-date", true}},   // 0x041010
		{262144, ProductState{"off", "up-to-date", true}},   // 0x040000
		{262160, ProductState{"off", "out-of-date", true}},  // 0x040010
		{393472, ProductState{"off", "up-to-date", false}},  // 0x060100 Defender, off
		{397568, ProductState{"on", "up-to-date", false}},   // 0x061100 Defender, on
		{397584, ProductState{"on", "out-of-date", false}},  // 0x061110 Defender, on, out of date
		{0x061200, ProductState{"on", "up-to-date", false}}, // any owner bits mean not third party
		{0x042000, ProductState{"snoozed", "up-to-date", true}},
		{0x043000, ProductState{"expired", "up-to-date", true}},
		{0x043010, ProductState{"expired", "out-of-date", true}},
		{0x044000, ProductState{"unknown", "up-to-date", true}},
		{0x041020, ProductState{"on", "unknown", true}},
		{0, ProductState{"off", "up-to-date", true}},
	} {
		if got := DecodeProductState(tc.state); got != tc.want {
			t.Errorf("DecodeProductState(%#06x) = %+v, want %+v", tc.state, got, tc.want)
		}
	}
}

// 393472 = 0x060100 is sometimes quoted as "Defender on"; by the masks
// its 0xF000 nibble is 0, so it is Defender turned off (another product
// took over), and 397568 = 0x061100 is Defender on. Pin both.
func TestDefenderExamples(t *testing.T) {
	if got := DecodeProductState(393472); got.Enabled != "off" || got.ThirdParty {
		t.Errorf("0x060100 = %+v, want Microsoft, off", got)
	}
	if got := DecodeProductState(397568); got.Enabled != "on" || got.ThirdParty {
		t.Errorf("0x061100 = %+v, want Microsoft, on", got)
	}
}

func TestSecurityProductItem(t *testing.T) {
	exe := `C:\Program Files (x86)\Kaspersky Lab\KES.12.5.0\wmiav.exe`
	got := securityProductItem("Kaspersky Endpoint Security for Windows", exe, 0x041010)
	want := Item{
		Kind:   KindSecurityProduct,
		Name:   "Kaspersky Endpoint Security for Windows",
		Path:   `root\SecurityCenter2\AntiVirusProduct`,
		Exec:   exe,
		State:  StateInstalled,
		Detail: "Security Center: on, signatures out of date",
		Attrs: map[string]string{
			"wsc_state":         "on",
			"wsc_signatures":    "out-of-date",
			"wsc_product_state": "0x041010",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if d := securityProductItem("x", "", 0x041000).Detail; d != "Security Center: on, signatures up to date" {
		t.Errorf("up to date: Detail = %q", d)
	}
	if a := securityProductItem("x", "", 0x1000).Attrs["wsc_product_state"]; a != "0x001000" {
		t.Errorf("wsc_product_state = %q, want six hex digits", a)
	}
}

func TestSecurityCenterDetect(t *testing.T) {
	products := []wscProduct{
		{"Windows Defender", "windowsdefender://", 393472},
		{"Kaspersky Endpoint Security for Windows", `C:\Program Files (x86)\Kaspersky Lab\wmiav.exe`, 266256},
	}
	partial := errors.New("WMI: field mismatch")
	d := securityCenter{query: func(context.Context) ([]wscProduct, error) { return products, partial }}
	items, err := d.Detect(context.Background(), &Env{})
	if !errors.Is(err, partial) {
		t.Errorf("err = %v, want the query's error", err)
	}
	if len(items) != 2 || items[1].Name != products[1].DisplayName || items[1].Attrs["wsc_signatures"] != "out-of-date" {
		t.Errorf("items = %+v", items)
	}
}

// On Windows Server the query says WSC is unavailable, and the scan lists
// the detector as skipped, not failed.
func TestSecurityCenterUnavailableSkips(t *testing.T) {
	d := securityCenter{query: func(context.Context) ([]wscProduct, error) {
		return nil, &Unavailable{Reason: wscUnavailable}
	}}
	res := runOne(context.Background(), &Env{}, Spec{Name: "security-center", Detector: d})
	if res.Err != nil || res.Skipped != wscUnavailable || len(res.Items) != 0 {
		t.Errorf("result = %+v; want skipped with %q", res, wscUnavailable)
	}
}

func TestSecurityCenterRegistered(t *testing.T) {
	s, ok := specs["security-center"]
	if !ok || !s.Live || !slices.Equal(s.OS, []string{"windows"}) {
		t.Fatalf("spec = %+v, %v", s, ok)
	}
	_, skipped, err := Plan([]string{"security-center"}, &Env{Live: true, Host: Host{OS: "linux"}})
	if err != nil || len(skipped) != 1 {
		t.Errorf("Plan on linux: skipped %v, err %v", skipped, err)
	}
}

func TestWSCMissingCode(t *testing.T) {
	for hr, want := range map[uint32]bool{
		0x8004100E: true,  // WBEM_E_INVALID_NAMESPACE
		0x80041010: true,  // WBEM_E_INVALID_CLASS
		0x80020009: false, // DISP_E_EXCEPTION alone says nothing
		0x80041003: false, // WBEM_E_ACCESS_DENIED is a real error
		0:          false,
	} {
		if got := wscMissingCode(hr); got != want {
			t.Errorf("wscMissingCode(%#x) = %v, want %v", hr, got, want)
		}
	}
}
