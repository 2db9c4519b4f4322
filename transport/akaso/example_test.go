package akaso_test

import (
	"context"
	"fmt"

	"ota-agent/transport"
	"ota-agent/transport/akaso"
	"ota-agent/transport/akaso/akasotest"
)

// Example checks the fake server's seed sample for a Brave8 camera.
func Example() {
	srv := akasotest.NewServer(akasotest.Options{})
	defer srv.Close()
	c := akaso.New(akaso.Config{BaseURL: srv.BaseURL, Language: "EN", Component: "rootfs"})
	offers, err := c.Check(context.Background(), transport.Device{Model: "Brave8"})
	if err != nil {
		fmt.Println(err)
		return
	}
	o := offers[0]
	fmt.Printf("%s %q uid %s md5 %s ~%d bytes\n%s\n", o.Component, o.Version, o.ID, o.MD5, o.Size, o.URL)
	// Output:
	// rootfs "Brave 8_20231107_Vx.2.4" uid 2 md5 35157c42268051789e164b45c01df5a8 ~22439527 bytes
	// https://akasogo.s3.amazonaws.com/package/Brave+8_20231107_Vx.2.4.zip
}
