package bad

import "fmt"

// The fmt functions without a reader or writer use the process's standard
// streams, and so do the print builtins.
func Say(n int) {
	fmt.Print(n)          // want call
	fmt.Printf("%d\n", n) // want call
	fmt.Println(n)        // want call
	print(n)              // want call
	println(n)            // want call
}

func Ask() (n int) {
	_, _ = fmt.Scan(&n)        // want call
	_, _ = fmt.Scanf("%d", &n) // want call
	_, _ = fmt.Scanln(&n)      // want call
	return n
}

// A reference is as bad as a call.
var say = fmt.Println // want call
