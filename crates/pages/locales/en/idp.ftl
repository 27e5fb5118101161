# idp
