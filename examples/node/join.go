package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// joinAnswer is what the admin endpoint answers to POST /raft/join.
type joinAnswer struct {
	Error       string `json:"error"`
	LeaderID    string `json:"leader_id"`
	LeaderAdmin string `json:"leader_admin"`
}

// join asks the node at cfg.join to add this server as a voter. A follower
// forwards the request to the leader; one that cannot (it has no admin URL
// for the leader) answers 421, which join follows to the leader's admin URL
// if the answer names it. It retries while there is no leader (503) or the
// node cannot be reached, until ctx ends. Any other answer is final.
func join(ctx context.Context, log *zap.Logger, cfg config) error {
	body, err := json.Marshal(map[string]string{"id": string(cfg.id), "addr": cfg.raftAddr})
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 15 * time.Second}
	target := cfg.join
	for {
		status, answer, err := postJoin(ctx, client, target, cfg.token, body)
		switch {
		case err != nil, status == http.StatusServiceUnavailable:
			log.Info("cannot join yet; retrying", zap.String("via", target), zap.Int("status", status), zap.Error(err))
		case status == http.StatusOK:
			log.Info("joined the cluster", zap.String("via", target))
			return nil
		case status == http.StatusMisdirectedRequest && answer.LeaderAdmin != "":
			target = answer.LeaderAdmin
			continue
		case status == http.StatusMisdirectedRequest:
			return fmt.Errorf("%s: the leader is %s, whose admin URL it does not know; -join it instead",
				target, answer.LeaderID)
		default:
			return fmt.Errorf("%s: %d %s", target, status, answer.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// postJoin sends one join request. Its error is about the exchange itself;
// the status says what the node answered.
func postJoin(ctx context.Context, client *http.Client, base, token string, body []byte) (int, joinAnswer, error) {
	var answer joinAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/raft/join", bytes.NewReader(body))
	if err != nil {
		return 0, answer, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, answer, err
	}
	defer resp.Body.Close()
	// A body that is not the JSON we expect leaves answer empty; the
	// status still decides.
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer)
	return resp.StatusCode, answer, nil
}
