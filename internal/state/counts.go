package state

// Count is how many objects of one kind the store knows, with and
// without an owner.
type Count struct {
	Kind           string
	Owned, Unowned int
}

// Counts returns the store's objects by kind, in a stable order. It reads
// every object, so it is for a metrics scrape, not for judging.
func (s *Store) Counts() []Count {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Count
	for kind, ix := range s.kinds {
		c := Count{Kind: kind.String()}
		for _, o := range ix.byID {
			if o.Owned {
				c.Owned++
			} else {
				c.Unowned++
			}
		}
		out = append(out, c)
	}
	sortCounts(out)
	return out
}

func sortCounts(cs []Count) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Kind < cs[j-1].Kind; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
