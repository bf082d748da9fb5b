package plugin

// Auditor receives one outcome per decision. An error from Record means a
// required sink could not take the record.
type Auditor interface {
	Record(o *Outcome) error
}

type nopAuditor struct{}

func (nopAuditor) Record(*Outcome) error { return nil }
