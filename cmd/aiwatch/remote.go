package main

import (
	"context"
	"errors"

	"github.com/aiwatch/aiwatch/internal/server"
	"github.com/aiwatch/aiwatch/internal/store"
)

var tokenFileFlag string

func init() {
	rootCmd.PersistentFlags().StringVar(&tokenFileFlag, "token-file", "", "file holding the token of a running aiwatch serve (default $"+server.TokenEnv+"), used when serve holds the data directory")
}

// openOrServer opens the data directory, or, when aiwatch serve holds it
// (DuckDB lets one process write a database file), returns a client that
// runs the command through the server. Its errors say what to do.
func openOrServer(ctx context.Context, readOnly bool) (*store.Store, *server.Client, error) {
	st, err := openStore(ctx, readOnly)
	if err == nil || !errors.Is(err, store.ErrLocked) {
		return st, nil, err
	}
	tok, terr := server.ClientToken(tokenFileFlag)
	if terr != nil {
		return nil, nil, terr
	}
	c, cerr := server.Connect(dataDir(), tok)
	if cerr != nil {
		if errors.Is(cerr, server.ErrNoServer) {
			return nil, nil, err // the store's own message names the directory and what to do
		}
		return nil, nil, cerr
	}
	return nil, c, nil
}
