"""Big files made by the worker (我的文件): a long PDF or a large export is asked for on a page,
rendered in the background as the person who asked, and offered to them alone for a day."""
