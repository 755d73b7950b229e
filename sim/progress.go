package sim

import "time"

// RunReporting is Run, calling report with the simulated time reached
// every interval of simulated time along the way (for a progress meter).
// The simulation is the same as Run's, event for event.
func (s *Sim) RunReporting(interval time.Duration, report func(simulated time.Duration)) (*Report, error) {
	end := Epoch + int64(s.cfg.Duration)
	for s.Net.Now() < end {
		s.Net.RunUntil(min(s.Net.Now()+int64(interval), end))
		report(time.Duration(s.Net.Now() - Epoch))
	}
	s.Net.RunUntil(end)
	if err := s.Close(); err != nil {
		return nil, err
	}
	return s.Report(), nil
}
