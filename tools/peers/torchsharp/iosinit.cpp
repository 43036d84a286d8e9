// std::ios_base_library_init(), which GCC 13's libstdc++ exports (GLIBCXX_3.4.32) so that its objects can make sure
// the standard streams exist. GCC 12's libstdc++ sets them up in every object that includes <iostream>, so there is
// nothing left to do here. See old-libstdcxx.py.
namespace std
{
void ios_base_library_init() {}
}
