package starter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/trackid"
)

// BatchDefaults apply to every item of a batch file: the endpoint and
// parameters of a plain prompt list, or defaults under each JSONL item.
type BatchDefaults struct {
	Endpoint string
	Params   map[string]any
}

// maxListedErrors bounds how many item errors a parse reports in full.
const maxListedErrors = 20

// ParseBatchFile reads a batch: JSONL (one object per line with endpoint,
// params, and optionally track_id and priority; blank lines and lines starting with #
// are skipped) or, when the first item line does not start with "{", a
// plain list of prompts sharing def's endpoint and parameters. Every item
// is checked against the catalogue; the error lists every bad line as
// NAME:LINE: reason.
func ParseBatchFile(name string, r io.Reader, def BatchDefaults) ([]contract.BatchItem, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var (
		items []contract.BatchItem
		errs  []string
		more  int
		mode  string
		seen  = map[string]int{}
	)
	fail := func(line int, format string, args ...any) {
		if len(errs) < maxListedErrors {
			errs = append(errs, fmt.Sprintf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
		} else {
			more++
		}
	}
	var defEP modelslab.Endpoint
	var defErr error
	if def.Endpoint != "" {
		defEP, defErr = modelslab.Lookup(def.Endpoint)
	}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if mode == "" {
			mode = "prompts"
			if strings.HasPrefix(text, "{") {
				mode = "jsonl"
			}
			if mode == "prompts" {
				switch {
				case def.Endpoint == "":
					return nil, fmt.Errorf("%s:%d: a plain prompt list needs --endpoint (or write JSONL: one {\"endpoint\":...,\"params\":{...}} per line)", name, line)
				case defErr != nil:
					return nil, fmt.Errorf("--endpoint: %w", defErr)
				}
			}
		}
		item := contract.BatchItem{Line: line}
		if mode == "jsonl" {
			var raw struct {
				Endpoint string          `json:"endpoint"`
				Params   map[string]any  `json:"params"`
				TrackID  string          `json:"track_id"`
				Priority json.RawMessage `json:"priority"`
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(text)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&raw); err != nil {
				fail(line, "not a JSON item {\"endpoint\":..., \"params\":{...}, \"track_id\":..., \"priority\":...}: %v", err)
				continue
			}
			if raw.Priority != nil {
				p, err := strconv.Atoi(string(raw.Priority))
				if err != nil || p < 1 || p > contract.PriorityMax {
					fail(line, "priority %s: want an integer from 1 (lowest, the batch's default) to %d (highest)", raw.Priority, contract.PriorityMax)
					continue
				}
				item.Priority = p
			}
			item.Endpoint, item.TrackID = raw.Endpoint, raw.TrackID
			item.Params = maps.Clone(def.Params)
			if item.Params == nil {
				item.Params = map[string]any{}
			}
			maps.Copy(item.Params, raw.Params)
			if item.Endpoint == "" {
				item.Endpoint = def.Endpoint
			}
		} else {
			item.Endpoint = defEP.Name
			item.Params = maps.Clone(def.Params)
			if item.Params == nil {
				item.Params = map[string]any{}
			}
			item.Params["prompt"] = text
		}
		if item.Endpoint == "" {
			fail(line, "no endpoint (give one in the item or with --endpoint)")
			continue
		}
		ep, err := modelslab.Lookup(item.Endpoint)
		if err != nil {
			fail(line, "%v", err)
			continue
		}
		item.Endpoint = ep.Name
		if err := ep.Validate(item.Params); err != nil {
			fail(line, "%v", err)
			continue
		}
		if item.TrackID != "" {
			if err := trackid.Validate(item.TrackID); err != nil {
				fail(line, "%v", err)
				continue
			}
			if prev, dup := seen[item.TrackID]; dup {
				fail(line, "track_id %q is also used on line %d", item.TrackID, prev)
				continue
			}
			seen[item.TrackID] = line
		}
		items = append(items, item)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(errs) > 0 {
		if more > 0 {
			errs = append(errs, fmt.Sprintf("... and %d more", more))
		}
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no items", name)
	}
	return items, nil
}
