package mxchip_test

import (
	"context"
	"fmt"

	"ota-agent/transport"
	"ota-agent/transport/mxchip"
	"ota-agent/transport/mxchip/mxchiptest"
)

// Example checks a fake server holding a new Wi-Fi image, then reports it installed.
func Example() {
	srv := mxchiptest.NewServer(mxchiptest.Options{})
	defer srv.Close()
	img := []byte("wifi firmware")
	srv.SetFiles([]mxchiptest.File{{FileURL: srv.AddFile("wifi.bin", img), MD5: mxchiptest.MD5Hex(img), Version: "2.0", OTAType: 1}})
	c := mxchip.New(mxchip.Config{BaseURL: srv.URL, ProductID: "p1", Token: srv.Token(), DeviceID: "dev-1",
		MCUComponent: "mcu", WiFiComponent: "wifi"})
	ctx := context.Background()
	offers, err := c.Check(ctx, transport.Device{Versions: map[string]string{"mcu": "1.0", "wifi": "1.0"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(offers[0].Component, offers[0].Version, offers[0].MD5)
	err = c.Report(ctx, transport.Report{Component: "wifi", Version: "2.0", Event: transport.EventInstall, OK: true,
		Versions: map[string]string{"mcu": "1.0", "wifi": "2.0"}})
	fmt.Println(err, srv.Reports())
	// Output:
	// wifi 2.0 847b6853ab3208a0db3dad7cebf0d174
	// <nil> [{dev-1 2.0 1.0}]
}
