{
    "name": "noko_qbo benchmark hooks",
    "summary": "Benchmark only: the QBO client paces on a time-scaled sandbox's clock",
    "version": "19.0.1.0.0",
    "license": "LGPL-3",
    "author": "noko_qbo",
    "depends": ["noko_qbo"],
    "installable": True,
}
