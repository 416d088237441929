package store

import (
	"context"
	"database/sql"
)

type Store struct {
	db *sql.DB
}

func (s *Store) Names(ctx context.Context, ids []int64) ([]string, error) {
	var out []string
	for _, id := range ids {
		var name string
		// expect: n-plus-one-query
		if err := s.db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = $1", id).Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

func (s *Store) Fanout(ids []int64) {
	for _, id := range ids {
		go func(id int64) {
			_, _ = s.db.Exec("DELETE FROM sessions WHERE user_id = $1", id)
		}(id)
	}
}

func (s *Store) Once(ctx context.Context) error {
	for _, table := range []string{"users", "orders"} {
		if _, err := s.db.ExecContext(ctx, "ANALYZE "+table); err != nil {
			return err
		}
	}
	return nil
}
