// Package fanout runs the iterations of a loop on a few goroutines.
package fanout

import "sync"

// Each calls fn(0) … fn(n-1) on up to workers goroutines and returns when
// all calls have returned. fn must be safe to call concurrently.
func Each(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
