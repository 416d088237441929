package p

func (s *S) F(ids []int64) { for _, id := range ids { _, _ = s.db.Exec("DELETE FROM t WHERE id = $1", id) } }
