package installer

import (
	"time"

	"golang.org/x/sys/windows/svc/mgr"
)

// setRecovery sets what kardianos/service does not: three recovery
// actions (restart after 10 s, 30 s and 60 s, the count reset after a
// day), recovery also when the service stops with an error without
// crashing (kardianos issue 401, PR 420), and the delayed automatic
// start, set again in case the create call dropped it.
func setRecovery(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return err
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}
	if err := s.SetRecoveryActions(actions, recoveryResetSeconds); err != nil {
		return err
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return err
	}
	c, err := s.Config()
	if err != nil {
		return err
	}
	c.StartType = mgr.StartAutomatic
	c.DelayedAutoStart = true
	return s.UpdateConfig(c)
}
