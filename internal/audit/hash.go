package audit

import (
	"strings"

	"github.com/valyala/fastjson"
)

// hashObject hashes a parsed record so that the same record compares equal
// whatever its key order, whitespace, escaping or transport (Graph's
// "@odata.*" keys are metadata and ignored). Objects combine their members
// with a commutative sum, so no sorting is needed.
func hashObject(o *fastjson.Object) uint64 {
	var sum uint64
	o.Visit(func(k []byte, v *fastjson.Value) {
		if strings.HasPrefix(string(k), "@odata.") {
			return
		}
		sum += Mix(fnv(fnvOffset, k) ^ hashValue(v)*0x9e3779b97f4a7c15)
	})
	return Mix(sum ^ 0x6f)
}

func hashValue(v *fastjson.Value) uint64 {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return hashObject(o)
	case fastjson.TypeArray:
		arr, _ := v.Array()
		h := uint64(0x61)
		for _, e := range arr {
			h = Mix(h*31 + hashValue(e))
		}
		return h
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return fnv(fnvOffset^0x73, b)
	case fastjson.TypeNumber:
		return fnv(fnvOffset^0x6e, []byte(v.String()))
	case fastjson.TypeTrue:
		return 0x74
	case fastjson.TypeFalse:
		return 0x66
	default:
		return 0x6c
	}
}

const fnvOffset = 14695981039346656037

func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Mix is splitmix64's finalizer: spreads bits so sums of hashes don't
// collide (here) and weak low bits don't cluster (the store's Id filter).
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
