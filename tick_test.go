package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTickReportStringShowsEachDimension(t *testing.T) {
	r := TickReport{Leader: true, Term: 3, Balance: Balance{Count: 0.5, Bytes: 1.25, Load: 0.1}, Commands: []Command{AddNode{Node: 1}}}
	require.Equal(t, "leader term=3 count=0.50 bytes=1.25 load=0.10 proposed=1 rejected=0", r.String())
	require.Equal(t, "follower term=3", TickReport{Term: 3}.String())
}
