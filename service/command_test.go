package service

import "testing"

// Keep's copy of a deliver command stays as it was when the store fills
// the original's memory again; other commands are kept as they are.
func TestKeepCopiesDelivers(t *testing.T) {
	d := &Deliver{Peer: "p", Channel: 2, Data: []byte("m")}
	cmds := []Command{Close{Peer: "q"}, d}
	kept := Keep(cmds)
	*d = Deliver{Peer: "other", Channel: 3}
	cmds[0] = nil
	if c, ok := kept[0].(Close); !ok || c.Peer != "q" {
		t.Errorf("kept[0] = %v, want close q", kept[0])
	}
	if k, ok := kept[1].(*Deliver); !ok || k.Peer != "p" || k.Channel != 2 || string(k.Data) != "m" {
		t.Errorf("kept[1] = %+v, want the deliver from p as it was", kept[1])
	}
}
