package main

import (
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/banwatch/banwatch/installer"
)

// askService sends scanControl to the running banwatch service. It fails
// when the service is not installed or not running, or outside an
// elevated prompt: mgr opens the SCM and the service with full access,
// which Administrators have.
func askService() error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(installer.Name)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Control(scanControl)
	return err
}
