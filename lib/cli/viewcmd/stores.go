package viewcmd

import (
	"context"
	"sync"
	"time"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/store"
)

// stores shares one opened session among the requests being served and
// opens a new one when it is older than maxAge: a store keeps what it
// learnt of links for as long as it is open, and a git store is fetched when
// opened, so a view left running sees the links the engine moves and fetches
// at most once per maxAge. A session is closed once it is replaced and its
// last request is done.
type stores struct {
	open   func(context.Context) (*cli.Session, error)
	maxAge time.Duration

	mu  sync.Mutex
	cur *session
}

// session is an opened session and the requests using it.
type session struct {
	s       *cli.Session
	opened  time.Time
	users   int
	retired bool
}

// keep makes s the current session.
func (st *stores) keep(s *cli.Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.retire(st.cur)
	st.cur = &session{s: s, opened: time.Now()}
}

// get returns the store for one request and the function that ends its use.
func (st *stores) get(ctx context.Context) (store.Store, func(), error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cur == nil || time.Since(st.cur.opened) >= st.maxAge {
		s, err := st.open(ctx)
		if err != nil {
			return nil, nil, err
		}
		st.retire(st.cur)
		st.cur = &session{s: s, opened: time.Now()}
	}
	cur := st.cur
	cur.users++
	return cur.s.Store, func() { st.done(cur) }, nil
}

func (st *stores) done(s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.users--
	if s.retired && s.users == 0 {
		s.s.Close()
	}
}

// retire closes s once no request uses it; st.mu is held.
func (st *stores) retire(s *session) {
	if s == nil || s.retired {
		return
	}
	s.retired = true
	if s.users == 0 {
		s.s.Close()
	}
}

// close retires the current session.
func (st *stores) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.retire(st.cur)
	st.cur = nil
}
