/*
    SafeCare built-in rules: threats to the files a hospital exchanges.
    Written for this project; loaded by `safecare files scan` when built
    with the `yara` feature.
*/

rule SafeCare_DICOM_Preamble_Executable : polyglot
{
    meta:
        description = "DICOM Part 10 file whose 128-byte preamble starts an executable, script or archive (CVE-2019-11687)"
        severity = "high"
    condition:
        uint32(128) == 0x4D434944 and (
            uint16(0) == 0x5A4D or          // MZ: PE
            uint32(0) == 0x464C457F or      // \x7fELF
            uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
            uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE or
            uint16(0) == 0x2123 or          // #!
            uint32(0) == 0x04034B50 or      // PK\x03\x04
            uint32(0) == 0x46445025         // %PDF
        )
}

rule SafeCare_PDF_Script : document
{
    meta:
        description = "PDF (alone or inside a DICOM Encapsulated Document) that runs script or launches programs"
        severity = "high"
    strings:
        $pdf = "%PDF-"
        $js = "/JavaScript"
        $js_short = /\/JS[ \t\r\n(<\[]/
        $launch = "/Launch"
    condition:
        $pdf and any of ($js, $js_short, $launch)
}

rule SafeCare_Ransom_Note : ransom_note
{
    meta:
        description = "Text that reads like a ransom note: encrypted files, payment, decryption contact"
        severity = "high"
    strings:
        $enc1 = "files have been encrypted" nocase
        $enc2 = "files are encrypted" nocase
        $enc3 = "your network has been" nocase
        $pay1 = "bitcoin" nocase
        $pay2 = "BTC wallet" nocase
        $pay3 = "monero" nocase
        $dec1 = "decryption key" nocase
        $dec2 = "decrypt your files" nocase
        $dec3 = "private key" nocase
        $tor = ".onion" nocase
    condition:
        filesize < 200KB and any of ($enc*) and (any of ($pay*) or $tor) and any of ($dec*)
}
