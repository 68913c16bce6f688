package placement

import "context"

// Handle controls a loop started by Scheduler.Start.
type Handle struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start runs Run on a new goroutine and returns its Handle. If the loop is
// already running, Start returns the running loop's Handle.
func (s *Scheduler) Start() *Handle {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.handle != nil {
		select {
		case <-s.handle.done:
		default:
			return s.handle
		}
	}
	s.handle = startHandle(s.Run)
	return s.handle
}

// Stop stops the loop started by Start and waits for it to exit. It is safe
// to call before Start, more than once, and from several goroutines.
func (s *Scheduler) Stop() {
	s.runMu.Lock()
	h := s.handle
	s.runMu.Unlock()
	if h != nil {
		h.Stop()
	}
}

// Stop cancels the loop and waits for it to exit. A tick in progress is
// cancelled through its context. Stop is idempotent and safe to call from
// several goroutines.
func (h *Handle) Stop() {
	h.cancel()
	<-h.done
}

// Done is closed when the loop has exited.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Err returns the loop's error once Done is closed (nil after a normal
// stop), and nil before.
func (h *Handle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}
