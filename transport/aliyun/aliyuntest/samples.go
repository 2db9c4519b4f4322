package aliyuntest

// Answers used as fixtures (the same bytes are in testdata/aliyun/). Serve
// them with Enqueue.
var (
	// SampleTuyaList is the seed's Tuya IoT Core ListOTAFirmware answer,
	// camelCase, verbatim (FirmwareSign and ProductKey masked with ****).
	SampleTuyaList = []byte(`{
    "code": "",
    "currentPage": 1,
    "firmwareInfo": {
        "simpleFirmwareInfo": [
                {
            "srcVersion": "1.0.0",
            "firmwareSign": "3d04ab6462633508606e5f3daac8****",
            "productKey": "k1nhvyl****",
            "type": 0,
            "utcModified": "2024-11-11T11:11:11.000Z",
            "signMethod": "MD5",
            "utcCreate": "2024-11-11T11:11:11.000Z",
            "firmwareSize": 924,
            "status": 0,
            "firmwareId": "167",
            "firmwareDesc": "this is firmware",
            "destVersion": "1.0.1",
            "productName": "ble1",
            "firmwareName": "bleFirmware1",
            "moduleName": "ble"
          }
        ]
    },
    "pageCount": 1,
    "pageSize": 10,
    "requestId": "07e1524e-edba-4316-8c83-8714dfaf5b90",
    "success": true,
    "total": 1
}`)

	// SampleAlibabaList is a ListOTAFirmware answer in Alibaba's PascalCase
	// shape (fields and value styles from the Alibaba docs and Java SDK
	// model, including the FirmwareUrl only Alibaba's List has): a full MD5
	// package for module default and a SHA256 delta for module ble.
	SampleAlibabaList = []byte(`{"RequestId":"A6B9ABA7-A11E-4B66-A7B8-39B54A0F3F9C","Success":true,"Total":2,"PageSize":100,"PageCount":1,"CurrentPage":1,"FirmwareInfo":{"SimpleFirmwareInfo":[{"FirmwareId":"UfuxnwygsuSkVE0VCN****0100","FirmwareName":"rootfs-4.0.0","FirmwareDesc":"Security fixes","SrcVersion":"","DestVersion":"4.0.0","FirmwareSign":"93d9c1ce8f9e4c34b8e8d5c3b2b4c5a6","SignMethod":"MD5","FirmwareSize":4194304,"FirmwareUrl":"https://iotx-ota.oss-cn-shanghai.aliyuncs.com/ota/a19mzPZabcd/rootfs-4.0.0.bin?Expires=1732012063&OSSAccessKeyId=LTAI4Fdd****&Signature=farzC8%2FVMN4dSnM%3D","ModuleName":"default","ProductKey":"a19mzPZabcd","ProductName":"camera","Status":1,"Type":0,"UtcCreate":"2024-11-18T08:00:00.000Z","UtcModified":"2024-11-18T08:10:00.000Z"},{"FirmwareId":"Ble9xkwygsuSkVE0VCN****0101","FirmwareName":"ble-1.0.2-delta","FirmwareDesc":"","SrcVersion":"1.0.1","DestVersion":"1.0.2","FirmwareSign":"6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b","SignMethod":"SHA256","FirmwareSize":924,"ModuleName":"ble","ProductKey":"a19mzPZabcd","ProductName":"camera","Status":1,"Type":1,"UtcCreate":"2024-11-19T09:00:00.000Z","UtcModified":"2024-11-19T09:00:00.000Z"}]}}`)

	// SampleAlibabaQuery is a QueryOTAFirmware answer for the first package of
	// SampleAlibabaList, PascalCase, with its presigned OSS FirmwareUrl.
	SampleAlibabaQuery = []byte(`{"RequestId":"B7C9ABA7-A11E-4B66-A7B8-39B54A0F3F9D","Success":true,"FirmwareInfo":{"FirmwareId":"UfuxnwygsuSkVE0VCN****0100","FirmwareName":"rootfs-4.0.0","FirmwareDesc":"Security fixes","SrcVersion":"","DestVersion":"4.0.0","FirmwareSign":"93d9c1ce8f9e4c34b8e8d5c3b2b4c5a6","SignMethod":"MD5","FirmwareSize":4194304,"FirmwareUrl":"https://iotx-ota.oss-cn-shanghai.aliyuncs.com/ota/a19mzPZabcd/rootfs-4.0.0.bin?Expires=1732012063&OSSAccessKeyId=LTAI4Fdd****&Signature=farzC8%2FVMN4dSnM%3D","ModuleName":"default","ProductKey":"a19mzPZabcd","ProductName":"camera","Status":1,"Type":0,"VerifyProgress":100,"Udi":"{\"ota\":\"camera\"}","UtcCreate":"2024-11-18T08:00:00.000Z","UtcModified":"2024-11-18T08:10:00.000Z","MultiFiles":[]}}`)
)
